// `bench widget` (bench/src/widget.rs starts the service and runs this): the widget's size
// gzipped, the time from the script's request to the button on the page, and an operator's
// reply from its mutation to its text in the visitor's page, next to the same reply seen by a
// plain graphql-transport-ws client in the same run (the widget's own cost is the difference).
// Prints one JSON line.
import zlib from "node:zlib";
import { embed, gql, gqlRaw, hostServer, newPage, browser, until, W, API } from "./harness.mjs";

const REPLIES = Number(process.env.SB_REPLIES || 200);
const LOADS = Number(process.env.SB_LOADS || 15);
const now = () => performance.timeOrigin + performance.now();

function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

// What a browser downloads: the served gzip (and the raw size for the record).
const js = Buffer.from(await (await fetch(API + "/widget.js", { headers: { "accept-encoding": "identity" } })).arrayBuffer());
const served = await fetch(API + "/widget.js", { headers: { "accept-encoding": "gzip" } });
const gzipBytes = served.headers.get("content-encoding") === "gzip" ? Number(served.headers.get("content-length")) : zlib.gzipSync(js, { level: 9 }).length;

const host = await hostServer();
const { widgetToken } = (await gql(`mutation($input: CreateInboxInput!) { createInbox(input: $input) { widgetToken } }`,
  { input: { settings: { title: "Bench", allowedOrigins: [] } } })).createInbox;
await until("the inbox", async () => (await gqlRaw(`query($t: String!) { widgetSettings(widgetToken: $t) { inboxId } }`, { t: widgetToken }, null)).data);
const url = host.page("/", embed({ widgetToken }));
const b = await browser();

// Script request → button shown, each in a fresh context (nothing cached).
const boots = [];
for (let i = 0; i < LOADS; i++) {
  const page = await newPage(b);
  await page.goto(url);
  await W(page, ".launcher").waitFor({ state: "visible" });
  boots.push(await page.evaluate(() => {
    const entry = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/widget.js"));
    const shown = performance.getEntriesByName("switchboard:button")[0];
    return shown.startTime - entry.startTime;
  }));
  await page.context().close();
}

// A chat, then replies seen by the page and by a plain client of the same session.
const page = await newPage(b);
await page.addInitScript(() => {
  window.__seen = {};
  window.addEventListener("switchboard:message", (e) => { window.__seen[e.detail.body] = performance.timeOrigin + performance.now(); });
});
await page.goto(url);
await W(page, ".launcher").click();
await W(page, "textarea[name=message]").fill("bench");
await W(page, "form button[type=submit]").click();
await until("the chat", async () => (await W(page, ".msg .text").count()) === 1);
// The operator's inbox shows it once the read side has it.
const conversationId = await until("the chat in the inbox", async () => { const nodes = (await gql(`{ inbox(first: 1) { nodes { id } } }`)).inbox.nodes; return nodes.length && nodes[0].id; });
const session = await page.evaluate(() => { for (const k of Object.keys(localStorage)) if (k.startsWith("switchboard:") && k !== "switchboard:sound") return JSON.parse(localStorage.getItem(k)).token; });

// Two plain graphql-transport-ws clients in the same page (the same clock as the widget's):
// one asks for the body only, one with the widget's own query, so the difference splits into
// what the widget's JavaScript costs and what its richer query costs the service.
await page.evaluate(({ api, session, conversationId, fields }) => new Promise((resolve) => {
  window.__plain = { minimal: {}, same: {} };
  const open = (name, query) => new Promise((ready) => {
    const ws = new WebSocket(api.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
    ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer " + session } }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "connection_ack") { ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { id: conversationId } } })); setTimeout(ready, 300); }
      else if (m.type === "next") window.__plain[name][m.payload.data.messagePosted.body] = performance.timeOrigin + performance.now();
      else if (m.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
    };
  });
  Promise.all([
    open("minimal", "subscription($id: UUID!) { messagePosted(conversationId: $id) { body } }"),
    open("same", "subscription($id: UUID!) { messagePosted(conversationId: $id) { " + fields + " internal } }"),
  ]).then(resolve);
}), { api: API, session, conversationId, fields: "id position body postedAt readAt autoReply sender { kind } attachments { id name contentType size url }" });

const sentAt = {};
for (let i = 0; i < REPLIES; i++) {
  const body = `reply ${i}`;
  sentAt[body] = now();
  await gql(`mutation($input: ReplyInput!) { replyToConversation(input: $input) { id } }`, { input: { conversationId, body } });
  await new Promise((r) => setTimeout(r, 20));
}
const last = `reply ${REPLIES - 1}`;
await until("the last reply everywhere", () => page.evaluate((l) => window.__seen[l] && window.__plain.minimal[l] && window.__plain.same[l], last));
const seen = await page.evaluate(() => ({ widget: window.__seen, plain: window.__plain }));
const widget = [], plain = [], extra = [], query = [];
for (const body of Object.keys(sentAt)) {
  widget.push(seen.widget[body] - sentAt[body]);
  plain.push(seen.plain.minimal[body] - sentAt[body]);
  extra.push(seen.widget[body] - seen.plain.same[body]);
  query.push(seen.plain.same[body] - seen.plain.minimal[body]);
}
await b.close();
host.close();
process.stdout.write(JSON.stringify({
  gzipBytes, rawBytes: js.length, boot: quantiles(boots), widget: quantiles(widget), plain: quantiles(plain),
  widgetMinusPlain: quantiles(extra), queryMinusMinimal: quantiles(query),
}) + "\n");
process.exit(0);
