// GraphiQL at /graphql in a real browser: `node --experimental-websocket graphiql.mjs graphiql`,
// run by tests/tests/graphiql.rs, which started the service. The editor renders from the
// service's own files, a query runs over POST and a subscription over the page's WebSocket,
// and no request leaves the service's origin nor is refused by the page's policy.
import { API, ADMIN, log, newPage, run, shot, until } from "./harness.mjs";
import assert from "node:assert/strict";

const origin = new URL(API).origin;
const socketOrigin = origin.replace(/^http/, "ws");

/** The text of the CodeMirror editor under `selector`. */
const editorText = (page, selector) =>
  page.evaluate((s) => { const e = document.querySelector(s); return e ? e.CodeMirror.getValue() : null; }, selector);
const setEditor = (page, selector, text) =>
  page.evaluate(([s, t]) => document.querySelector(s).CodeMirror.setValue(t), [selector, text]);

/** Sets the query, and waits until GraphiQL has parsed it (it does, 100 ms after an edit). */
async function setQuery(page, text) {
  await setEditor(page, QUERY, text);
  await until("GraphiQL to parse the query", () => page.evaluate(([s, t]) => {
    const ast = document.querySelector(s).CodeMirror.documentAST;
    return Boolean(ast && ast.loc && ast.loc.source.body === t);
  }, [QUERY, text]));
}

const QUERY = ".graphiql-query-editor .CodeMirror";
const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
const RESULT = ".result-window .CodeMirror";

/** The result pane, once it holds JSON that `check` accepts. */
async function result(page, what, check) {
  return until(what, async () => {
    const text = await editorText(page, RESULT);
    if (!text) return undefined;
    try { const value = JSON.parse(text); return check(value) ? value : undefined; } catch { return undefined; }
  });
}

const scenarios = {
  async graphiql(b) {
    const page = await newPage(b);
    const requests = [];
    const sockets = [];
    page.context().on("request", (r) => requests.push(r.url()));
    page.on("websocket", (ws) => {
      const socket = { url: ws.url(), received: [] };
      sockets.push(socket);
      ws.on("framereceived", (f) => socket.received.push(String(f.payload)));
    });
    // What the page's Content-Security-Policy refused, if anything.
    await page.addInitScript(() => {
      window.__refused = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.__refused.push(`${e.violatedDirective} ${e.blockedURI}`));
    });

    await page.goto(API + "/graphql");
    await page.locator(".graphiql-container").waitFor();
    await page.locator(QUERY).waitFor();
    await shot(page, "loaded");

    // A query, POSTed to /graphql.
    await setQuery(page, "{ __typename }");
    await page.locator(".graphiql-execute-button").click();
    const answer = await result(page, "the query's answer", (v) => v.data);
    await shot(page, "query");

    // The docs, from the schema GraphiQL introspected; the settings dialog (whose scroll lock
    // adds a <style> element: the policy allows inline styles, not inline scripts).
    await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
    await page.locator(".graphiql-doc-explorer").getByText("QueryRoot").first().waitFor();
    await page.getByRole("button", { name: "Open settings dialog" }).click();
    await page.getByRole("dialog").waitFor();
    await shot(page, "docs-and-settings");
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });

    // A subscription over the page's WebSocket, with the token from the headers editor.
    await page.getByRole("button", { name: "Headers", exact: true }).click();
    await page.locator(HEADERS).waitFor();
    await setEditor(page, HEADERS, JSON.stringify({ Authorization: "Bearer " + ADMIN }));
    await setQuery(page, "subscription { unreadChanged { conversationId unread total } }");
    await page.locator(".graphiql-execute-button").click();
    const first = await result(page, "the subscription's first message", (v) => v.data && v.data.unreadChanged);
    await shot(page, "subscription");
    const acknowledged = sockets.some((s) => s.received.some((m) => m.includes('"connection_ack"')));

    const refused = await page.evaluate(() => window.__refused);
    log("requests:\n  " + requests.join("\n  "));
    log("sockets: " + sockets.map((s) => s.url).join(", "));
    assert.deepEqual(refused, [], "the page's policy refused something");
    const errors = page.consoleLines.filter((l) => l.startsWith("error") || l.startsWith("pageerror"));
    assert.deepEqual(errors, [], "errors on the page");
    const elsewhere = requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:"));
    assert.deepEqual(elsewhere, [], "requests that left the service's origin");
    assert.ok(sockets.length > 0, "no WebSocket opened");
    for (const s of sockets) assert.ok(s.url.startsWith(socketOrigin + "/graphql"), s.url);
    return {
      requests,
      sockets: sockets.map((s) => s.url),
      typename: answer.data.__typename,
      firstUnread: first.data.unreadChanged,
      socketAcknowledged: acknowledged,
    };
  },
};

const name = process.argv[2];
if (!scenarios[name]) { log(`no scenario ${name}; scenarios: ${Object.keys(scenarios).join(", ")}`); process.exit(2); }
run(scenarios[name]);
