// What every browser scenario shares: Debian's Chromium driven by Playwright's library, a host
// page server on an origin of its own (the site that embeds the widget), GraphQL for the
// operator's side, and the line protocol with the Rust test that started the service
// (tests/src/browser.rs): `@@{"ask": …}` asks it for something (a restart) and waits for its
// answer on stdin; `@@{"result": …}` is what the scenario hands back for the log checks.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

export const API = process.env.SB_API;
export const ADMIN = process.env.SB_ADMIN_TOKEN;
export const ADMIN_ID = process.env.SB_ADMIN_ID;
const ARTIFACTS = process.env.SB_ARTIFACTS || "target/browser";

const stdinLines = readline.createInterface({ input: process.stdin });
const waiting = [];
stdinLines.on("line", (line) => { const next = waiting.shift(); if (next) next(JSON.parse(line)); });

/** Asks the Rust side for something (see tests/src/browser.rs) and waits for its answer. */
export function ask(what, details = {}) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    process.stdout.write("@@" + JSON.stringify({ ask: what, ...details }) + "\n");
  });
}

export function log(...args) { process.stderr.write(args.join(" ") + "\n"); }

/** GraphQL over HTTP, as the operator (or anyone with `token`); throws on errors. */
export async function gql(query, variables = {}, token = ADMIN) {
  const body = await gqlRaw(query, variables, token);
  if (body.errors) throw new Error("GraphQL errors: " + JSON.stringify(body.errors));
  return body.data;
}

export async function gqlRaw(query, variables = {}, token = ADMIN) {
  const res = await fetch(API + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

/** Polls `check` until it returns something truthy (a change, never a fixed sleep). */
export async function until(what, check, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try { last = await check(); } catch (e) { last = e; }
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.stack : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The site: pages served from an origin other than the API's. */
export async function hostServer() {
  const pages = new Map();
  const server = http.createServer((req, res) => {
    const page = pages.get(new URL(req.url, "http://x").pathname);
    if (!page) { res.writeHead(404); res.end("no such page"); return; }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  // localhost, not 127.0.0.1: another site than the API's, so CORS and allowed origins are real.
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    page(pathname, html) { pages.set(pathname, html); return origin + pathname; },
    close() { server.close(); },
  };
}

/** A host page that embeds the widget with the one tag of the README. */
export function embed({ widgetToken, head = "", body = "", before = "", attrs = "" }) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>A shop</title>${head}</head>
<body><h1>A shop</h1><p>Products, prices, a basket.</p>${body}
${before ? `<script>${before}</script>` : ""}
<script src="${API}/widget.js" data-widget-token="${widgetToken}" ${attrs} async></script>
</body></html>`;
}

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function browser() {
  return chromium.launch({
    executablePath: process.env.SB_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
}

const pagesSeen = [];
/** A new page in a new context (its own storage: another visitor) or in `context`;
 * `timezoneId` sets the browser's time zone (IANA), else the machine's. */
export async function newPage(b, { context, locale = "en-US", viewport, timezoneId } = {}) {
  const ctx = context || (await b.newContext({ locale, viewport: viewport || { width: 1280, height: 800 }, acceptDownloads: true, ...(timezoneId ? { timezoneId } : {}) }));
  const page = await ctx.newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  pagesSeen.push(page);
  return page;
}

export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${process.env.SB_SCENARIO}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The widget inside its shadow root (Playwright's CSS locators pierce open shadow roots). */
export const W = (page, selector) => page.locator(`switchboard-widget ${selector}`);

/** The texts of the thread's messages, in order. */
export async function thread(page) {
  return W(page, ".msg .text").allTextContents();
}

/** Registers the admin as operator `name`: offline, until they set a status. */
export async function register(name = "Ann") {
  await gql(`mutation($input: RegisterOperatorInput!) { registerOperator(input: $input) { changed } }`,
    { input: { operatorId: ADMIN_ID, profile: { name, roles: ["ADMIN"] } } });
}

/** An inbox whose widget may be used from `origins`, once the read side shows it. */
export async function inbox(settings) {
  const data = await gql(`mutation($input: CreateInboxInput!) { createInbox(input: $input) { inboxId widgetToken } }`,
    { input: { settings: { title: "Support", ...settings } } });
  const { inboxId, widgetToken } = data.createInbox;
  await until("the inbox on the read side", async () => {
    const r = await gqlRaw(`query($t: String!) { widgetSettings(widgetToken: $t) { inboxId } }`, { t: widgetToken }, null);
    return r.data && r.data.widgetSettings;
  });
  return { inboxId, widgetToken };
}

/** The conversations of the inbox as the operator lists them, newest first. */
export async function conversations() {
  const data = await gql(`{ inbox(first: 20) { nodes { id status contact { id name } } } }`);
  return data.inbox.nodes;
}

export async function messagesOf(conversationId) {
  const data = await gql(`query($id: UUID!) { conversation(id: $id) { messages(first: 100) { nodes { id body readAt sender { kind } attachments { id name url sha256 size } } } } }`, { id: conversationId });
  return data.conversation ? data.conversation.messages.nodes : [];
}

/** Operator's graphql-transport-ws subscription; returns the events seen so far. */
export function subscribe(query, variables, token = ADMIN) {
  const seen = [];
  const ws = new WebSocket(API.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
  const ready = new Promise((resolve) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer " + token } }));
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "connection_ack") { ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } })); resolve(); }
      else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
      else if (msg.type === "next") seen.push(msg.payload.data);
    };
  });
  return { seen, ready, close: () => ws.close() };
}

/** Runs a scenario: screenshots of every page and their console on failure. */
export async function run(scenario) {
  let b;
  try {
    b = await browser();
    const result = await scenario(b);
    process.stdout.write("@@" + JSON.stringify({ result: result || {} }) + "\n");
    await b.close();
    process.exit(0);
  } catch (err) {
    log("scenario failed:", err && err.stack ? err.stack : String(err));
    for (let i = 0; i < pagesSeen.length; i++) {
      const page = pagesSeen[i];
      try { log("screenshot:", await shot(page, `failure-${i}`)); } catch (e) { /* closed */ }
      log(`console of page ${i}:\n  ` + (page.consoleLines || []).join("\n  "));
    }
    if (b) await b.close().catch(() => {});
    process.exit(1);
  }
}
