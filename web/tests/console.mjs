// The operator console's browser scenarios: `node --experimental-websocket console.mjs
// <scenario>`, run by tests/tests/console.rs, which started the service and checks the log
// afterwards. Each asserts exact text on the page.
import { API, embed, gql, gqlRaw, hostServer, inbox, log, newPage, register, run, shot, until, W } from "./harness.mjs";
import fs from "node:fs";
import http from "node:http";
import assert from "node:assert/strict";

const T = (page, name) => page.locator(`[data-test="${name}"]`);
const text = async (locator) => ((await locator.first().textContent()) || "").trim();
const textIs = (locator, want, what) =>
  until(`${what} to read ${JSON.stringify(want)}`, async () => (await locator.count()) && (await text(locator)) === want || undefined);

async function invite(email, name, roles) {
  const d = await gql(`mutation($i: InviteOperatorInput!) { inviteOperator(input: $i) { operatorId invitationPath } }`,
    { i: { email, profile: { name, roles } } });
  return d.inviteOperator;
}

/** A visitor's conversation, started over the API (the widget's own scenarios drive it). */
async function visitorWrites(widgetToken, body) {
  const r = await gqlRaw(`mutation($input: StartConversationInput!) { startConversation(input: $input) { conversationId sessionToken } }`,
    { input: { widgetToken, message: body, name: "Olena" } }, null);
  assert.ok(r.data, JSON.stringify(r));
  return r.data.startConversation;
}

/** An invited operator who accepts the invitation in a page of their own: signed in. */
async function signedIn(b, email, name, roles, options = {}) {
  const invitation = await invite(email, name, roles);
  const page = await newPage(b, options);
  await page.goto(API + invitation.invitationPath);
  await T(page, "invitation-password").fill("a long passphrase");
  await T(page, "invitation-password-repeat").fill("a long passphrase");
  await T(page, "invitation-submit").click();
  await textIs(T(page, "operator-name"), name, `${name}'s name in the header`);
  return { page, operatorId: invitation.operatorId };
}

/** The texts of every element named `name`, trimmed, in order. */
const texts = async (page, name) => (await T(page, name).allTextContents()).map((s) => s.trim());
const textsAre = (page, name, want) =>
  until(`${name} to be ${JSON.stringify(want)}`, async () => JSON.stringify(await texts(page, name)) === JSON.stringify(want) || undefined);

/** The visitor's own view of the thread, over GraphQL with the widget session token. */
async function visitorThread(sessionToken) {
  const d = await gql(`{ myConversation { status messages(first: 100) { nodes { body internal sender { kind } } } } }`, {}, sessionToken);
  return d.myConversation;
}

const scenarios = {
  // An invited operator sets a password, signs in, sees a visitor's conversation arrive live,
  // takes it and replies; a wrong password and a used invitation each get their sentence.
  async "sign-in-and-reply"(b) {
    const { widgetToken } = await inbox({});
    const ann = await invite("ann@example.com", "Ann", ["ADMIN"]);
    const page = await newPage(b);
    await page.goto(API + ann.invitationPath);
    await T(page, "invitation-password").fill("a long passphrase");
    await T(page, "invitation-password-repeat").fill("a long passphrase");
    await T(page, "invitation-submit").click();
    await textIs(T(page, "operator-name"), "Ann", "the operator's name");
    await shot(page, "inbox-empty");

    // The link works once: a second browser gets the sentence.
    const other = await newPage(b);
    await other.goto(API + ann.invitationPath);
    await T(other, "invitation-password").fill("another passphrase");
    await T(other, "invitation-password-repeat").fill("another passphrase");
    await T(other, "invitation-submit").click();
    await until("the invitation's refusal", async () => (await T(other, "invitation-error").count()) && (await text(T(other, "invitation-error"))) || undefined);
    const refusal = await text(T(other, "invitation-error"));
    // A wrong password on the sign-in page.
    await other.goto(API + "/#/sign-in");
    await T(other, "sign-in-email").fill("ann@example.com");
    await T(other, "sign-in-password").fill("not the password");
    await T(other, "sign-in-submit").click();
    await textIs(T(other, "sign-in-error"), "The e-mail or the password is wrong.", "the sign-in error");
    await shot(other, "wrong-password");

    // A visitor writes; the conversation shows in the Open tab without a reload.
    await page.goto(API + "/#/inbox/open");
    await until("the empty Open tab", async () => (await T(page, "inbox-empty").count()) || undefined);
    const started = await visitorWrites(widgetToken, "Hello, where is my order?");
    const row = page.locator(`[data-test="inbox-row"][data-id="${started.conversationId}"]`);
    await until("the new conversation in the Open tab", async () => (await row.count()) || undefined);
    assert.equal(await text(row.locator('[data-test="row-preview"]')), "Hello, where is my order?");
    await shot(page, "inbox-live");
    await row.click();
    await textIs(T(page, "message-body"), "Hello, where is my order?", "the thread");
    await T(page, "take-button").click();
    // The conversation view follows its own conversation: taken by Ann, then in progress.
    await textIs(T(page, "conversation-assignee"), "Ann", "the assignee in the side panel");
    await textIs(T(page, "conversation-status"), "Open", "the status before the reply");
    await T(page, "reply-box").fill("It ships today.");
    await T(page, "send-button").click();
    await until("the reply in the thread", async () => {
      const bodies = await T(page, "message-body").allTextContents();
      return JSON.stringify(bodies.map((s) => s.trim())) === JSON.stringify(["Hello, where is my order?", "It ships today."]) || undefined;
    });
    await textIs(T(page, "conversation-status"), "In progress", "the status after the reply");
    await shot(page, "conversation");

    // A reload keeps the session (the refresh cookie) and the conversation.
    await page.reload();
    await textIs(T(page, "operator-name"), "Ann", "the name after a reload");
    await T(page, "sign-out").click();
    await until("the sign-in page after signing out", async () => (await T(page, "sign-in").count()) || undefined);
    return { conversationId: started.conversationId, operatorId: ann.operatorId, refusal };
  },

  // One operator works a conversation end to end from the side panel: reply, internal note,
  // priority, tag, transfer to a branch's operator, resolve; the visitor never sees the note,
  // rates the conversation, and the rating shows in the open panel.
  async "conversation-work"(b) {
    const { widgetToken } = await inbox({ rating: "CSAT" });
    // Bob works a branch: the transfer moves the conversation there, and to him.
    const branchId = "0190f7e0-0000-7000-8000-00000000b0b0";
    const bob = await gql(`mutation($input: RegisterOperatorInput!) { registerOperator(input: $input) { operatorId } }`,
      { input: { profile: { name: "Bob", roles: ["MODERATOR"], branchId } } });
    const bobId = bob.registerOperator.operatorId;
    const started = await visitorWrites(widgetToken, "My parcel is lost.");
    const { page, operatorId } = await signedIn(b, "ann@example.com", "Ann", ["ADMIN"]);
    await page.goto(API + "/#/c/" + started.conversationId);
    await textIs(T(page, "message-body"), "My parcel is lost.", "the thread");
    await textIs(T(page, "conversation-assignee"), "Unassigned", "the assignee before taking");
    await T(page, "take-button").click();
    await textIs(T(page, "conversation-assignee"), "Ann", "the assignee after taking");

    await T(page, "reply-box").fill("Let me check with the carrier.");
    await T(page, "send-button").click();
    await textIs(T(page, "conversation-status"), "In progress", "the status after the reply");
    await T(page, "note-toggle").check();
    await textIs(T(page, "send-button"), "Add the note", "the note button");
    await T(page, "reply-box").fill("Carrier ticket 7731, call them back on Monday.");
    await T(page, "send-button").click();
    await textIs(T(page, "note").locator('[data-test="message-body"]'), "Carrier ticket 7731, call them back on Monday.", "the note in the thread");
    await textIs(T(page, "note-label"), "Internal note", "the note's label");
    await T(page, "note-toggle").uncheck();

    await T(page, "priority-select").selectOption("HIGH");
    await textIs(T(page, "conversation-priority"), "High", "the priority");
    await T(page, "tag-input").fill("Delivery");
    await T(page, "tag-add").click();
    await textsAre(page, "tag-name", ["delivery"]);
    await T(page, "transfer-select").selectOption("op:" + bobId);
    await textIs(T(page, "conversation-assignee"), "Bob", "the assignee after the transfer");
    await shot(page, "transferred");
    await T(page, "status-action-RESOLVED").click();
    await textIs(T(page, "conversation-status"), "Resolved", "the status after resolving");

    // The visitor's side: the reply, never the note.
    const mine = await visitorThread(started.sessionToken);
    assert.deepEqual(mine.messages.nodes.map((m) => [m.sender.kind, m.body, m.internal]),
      [["CONTACT", "My parcel is lost.", false], ["OPERATOR", "Let me check with the carrier.", false]]);
    assert.equal(mine.status, "RESOLVED");
    await gql(`mutation($input: RateConversationInput!) { rateConversation(input: $input) { score } }`,
      { input: { conversationId: started.conversationId, score: 4, comment: "Quick, thanks" } }, started.sessionToken);
    await textIs(T(page, "conversation-rating"), "CSAT 4 · Quick, thanks", "the rating in the panel");
    await shot(page, "rated");
    return { conversationId: started.conversationId, operatorId, bobId, branchId };
  },

  // A moderator sees only what is assigned to them; another conversation's URL gets the
  // NOT_ASSIGNEE sentence; the nav offers neither Admin nor Reports.
  async "moderator-only-own"(b) {
    const { widgetToken } = await inbox({});
    const { page, operatorId } = await signedIn(b, "mo@example.com", "Mo", ["MODERATOR"]);
    const theirs = await visitorWrites(widgetToken, "Is the shop open on Sunday?");
    const other = await visitorWrites(widgetToken, "I need an invoice.");
    await gql(`mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }`,
      { id: theirs.conversationId, op: operatorId });
    const nav = await page.locator("nav.sidenav a").evaluateAll((links) => links.map((a) => a.firstChild.textContent));
    assert.deepEqual(nav, ["Inbox", "Profile"]);
    // The one conversation assigned to them is unread: the badge says so.
    await textIs(T(page, "nav-unread"), "1", "the unread badge");
    assert.equal(await T(page, "nav-admin").count(), 0);
    assert.equal(await T(page, "nav-reports").count(), 0);
    for (const tab of ["mine", "all"]) {
      await page.goto(API + "/#/inbox/" + tab);
      await textsAre(page, "row-preview", ["Is the shop open on Sunday?"]);
      const ids = await T(page, "inbox-row").evaluateAll((rows) => rows.map((r) => r.dataset.id));
      assert.deepEqual(ids, [theirs.conversationId], tab);
    }
    await textIs(T(page, "inbox-tab-count-all"), "1", "the All count");
    await textIs(T(page, "inbox-tab-count-open"), "0", "the Open count");
    await page.goto(API + "/#/inbox/open");
    await until("the empty Open tab", async () => (await T(page, "inbox-empty").isVisible()) || undefined);
    await shot(page, "inbox");
    // Their own opens; the other one is refused with its sentence.
    await page.goto(API + "/#/c/" + theirs.conversationId);
    await textIs(T(page, "message-body"), "Is the shop open on Sunday?", "their conversation");
    await textIs(T(page, "conversation-assignee"), "Mo", "the assignee");
    await page.goto(API + "/#/c/" + other.conversationId);
    await textIs(T(page, "conversation-error"), "This conversation is not assigned to you.", "the refusal");
    assert.equal(await T(page, "message-body").count(), 0);
    await shot(page, "not-assignee");
    // Admin's and Reports' routes send them back to their inbox.
    for (const route of ["/#/admin/inboxes", "/#/reports"]) {
      await page.goto(API + route);
      await until(`${route} to land in the inbox`, async () => (await page.evaluate(() => location.hash)).startsWith("#/inbox") || undefined);
    }
    return { operatorId, theirs: theirs.conversationId, other: other.conversationId };
  },

  // An analyst lands in Reports (no inbox), sees the charts drawn, and the CSV they export
  // carries the figures `slaReport` gives over GraphQL for the same days.
  async "analyst-report"(b) {
    await register("Ann");
    const { widgetToken } = await inbox({ rating: "CSAT", sla: { firstResponseSecs: 900, resolutionSecs: 28800 } });
    // Two conversations today: one answered, resolved and rated 5; one answered and open.
    const done = await visitorWrites(widgetToken, "Where is my order?");
    const open = await visitorWrites(widgetToken, "Do you ship abroad?");
    for (const c of [done, open]) {
      await gql(`mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }`, { id: c.conversationId });
      await gql(`mutation($input: ReplyInput!) { replyToConversation(input: $input) { id } }`, { input: { conversationId: c.conversationId, body: "On it." } });
    }
    await gql(`mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }`, { id: done.conversationId });
    await until("the conversation resolved on the read side", async () => (await visitorThread(done.sessionToken)).status === "RESOLVED" || undefined);
    await gql(`mutation($input: RateConversationInput!) { rateConversation(input: $input) { score } }`,
      { input: { conversationId: done.conversationId, score: 5 } }, done.sessionToken);

    // The range the page shows by default: the last 14 days, in the browser's time zone (UTC here).
    const day = (d) => d.toISOString().slice(0, 10);
    const today = new Date(day(new Date()) + "T00:00:00Z");
    const from = new Date(today); from.setUTCDate(from.getUTCDate() - 13);
    const to = new Date(today); to.setUTCDate(to.getUTCDate() + 1);
    const FIELDS = "day conversations openBacklog firstResponse { p50Seconds p90Seconds breaches } nextResponse { breaches } resolution { p50Seconds p90Seconds breaches } csatCount csatAverage npsCount nps";
    const report = async () => (await gql(`query($from: DateTime!, $to: DateTime!) { slaReport(from: $from, to: $to, groupBy: [DAY], timeZone: "UTC") { ${FIELDS} } }`,
      { from: from.toISOString(), to: to.toISOString() })).slaReport;
    const rows = await until("the SLA report to count both conversations, the resolution and the rating", async () => {
      const r = await report();
      return r.length === 1 && r[0].conversations === 2 && r[0].resolution.p50Seconds != null && r[0].csatCount === 1 && r;
    });

    const { page, operatorId } = await signedIn(b, "ana@example.com", "Ana", ["ANALYST"], { timezoneId: "UTC" });
    await until("the analyst's landing page", async () => (await page.evaluate(() => location.hash)) === "#/reports" || undefined);
    const nav = await page.locator("nav.sidenav a").evaluateAll((links) => links.map((a) => a.firstChild.textContent));
    assert.deepEqual(nav, ["Reports", "Profile"]);
    await textIs(T(page, "kpi-conversations-value"), "2", "the conversations figure");
    await textIs(T(page, "kpi-backlog-value"), "1", "the open backlog");
    await textIs(T(page, "kpi-csat-value"), "5.00", "the CSAT average");
    // The charts are drawn: today's points and bars are there.
    for (const chartName of ["chart-first-response", "chart-resolution", "chart-csat"]) {
      assert.ok(await T(page, chartName).locator(`circle[data-day="${day(today)}"]`).count(), chartName);
    }
    assert.ok(await T(page, "chart-backlog").locator(`rect[data-day="${day(today)}"]`).count(), "the backlog bar");
    await shot(page, "report");

    const [download] = await Promise.all([page.waitForEvent("download"), T(page, "report-export").click()]);
    const csv = fs.readFileSync(await download.path(), "utf8");
    // The same figures, from slaReport, one line per day of the range.
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const cell = (v) => (v == null ? "" : String(v));
    const lines = ["day,conversations,first_response_p50_seconds,first_response_p90_seconds,resolution_p50_seconds,resolution_p90_seconds,breaches_first_response,breaches_next_response,breaches_resolution,open_backlog,csat_average,csat_count,nps,nps_count"];
    for (let d = new Date(from); d < to; d.setUTCDate(d.getUTCDate() + 1)) {
      const r = byDay.get(day(d));
      lines.push([day(d), r ? r.conversations : 0, r && r.firstResponse.p50Seconds, r && r.firstResponse.p90Seconds, r && r.resolution.p50Seconds, r && r.resolution.p90Seconds,
        r ? r.firstResponse.breaches : 0, r ? r.nextResponse.breaches : 0, r ? r.resolution.breaches : 0, r ? r.openBacklog : 0,
        r && r.csatAverage, r ? r.csatCount : 0, r && r.nps, r ? r.npsCount : 0].map(cell).join(","));
    }
    assert.equal(csv, lines.join("\r\n") + "\r\n");
    assert.equal(download.suggestedFilename(), `sla-report-${day(from)}-${day(today)}.csv`);
    // The inbox is not theirs: its route sends them back to Reports.
    await page.goto(API + "/#/inbox/open");
    await until("the inbox route to land in Reports", async () => (await page.evaluate(() => location.hash)) === "#/reports" || undefined);
    assert.equal(await T(page, "inbox-list").count(), 0);
    return { operatorId, csvLines: lines.length, today: lines.find((l) => l.startsWith(day(today))) };
  },

  // An admin creates an inbox, sets its working hours and SLA, puts the widget snippet on a
  // site, where the widget works; a new token makes the old snippet show no button.
  async "admin-inbox"(b) {
    const host = await hostServer();
    const { page, operatorId } = await signedIn(b, "ann@example.com", "Ann", ["ADMIN"]);
    page.on("dialog", (d) => d.accept());
    await page.goto(API + "/#/admin/inboxes");
    await T(page, "inbox-new").click();
    await T(page, "inbox-title").fill("Shop chat");
    await T(page, "inbox-allowedOrigins").fill(host.origin);
    await T(page, "inbox-save").click();
    await textIs(T(page, "toast"), "Saved.", "the toast");
    const snippet = await text(T(page, "widget-snippet-code"));
    const token = /data-widget-token="([^"]+)"/.exec(snippet)[1];
    assert.equal(snippet, `<script src="${API}/widget.js" data-widget-token="${token}" async></script>`);
    // Copy puts the same text on the clipboard.
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: API });
    await T(page, "snippet-copy").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
    await shot(page, "created");

    // Its settings: working hours and the SLA.
    await T(page, "inbox-open-created").click();
    await until("the inbox's page", async () => (await T(page, "inbox-heading").count()) && (await T(page, "inbox-heading").evaluate((e) => e.firstChild.textContent)) === "Shop chat" || undefined);
    const inboxId = (await page.evaluate(() => location.hash)).split("/").pop();
    await T(page, "inbox-alwaysOpen").uncheck();
    await T(page, "inbox-timeZone").fill("Europe/Kyiv");
    for (const d of ["MON", "TUE", "WED", "THU", "FRI"]) await T(page, "inbox-hours-" + d).fill("09:00-13:00, 14:00-18:00");
    await T(page, "inbox-hours-SAT").fill("10:00-14:00");
    await T(page, "inbox-hours-SUN").fill("");
    await T(page, "inbox-slaFirst").fill("15");
    await T(page, "inbox-slaResolution").fill("480");
    await T(page, "inbox-save").click();
    await textIs(T(page, "toast"), "Saved.", "the toast after saving");
    const saved = await until("the settings on the read side", async () => {
      const d = await gql(`{ inboxes { id workingHours { timeZone week { day periods { start end } } holidays } sla { firstResponseSecs nextResponseSecs resolutionSecs businessHoursOnly } } }`);
      const i = d.inboxes.find((x) => x.id === inboxId);
      return i && i.sla.firstResponseSecs != null && i;
    });
    const split = [{ start: "09:00", end: "13:00" }, { start: "14:00", end: "18:00" }];
    assert.deepEqual(saved.workingHours, {
      timeZone: "Europe/Kyiv",
      week: [...["MON", "TUE", "WED", "THU", "FRI"].map((day) => ({ day, periods: split })), { day: "SAT", periods: [{ start: "10:00", end: "14:00" }] }],
      holidays: [],
    });
    assert.deepEqual(saved.sla, { firstResponseSecs: 900, nextResponseSecs: null, resolutionSecs: 28800, businessHoursOnly: false });
    // A reload of the page shows what was saved.
    await page.reload();
    assert.equal(await T(page, "inbox-alwaysOpen").isChecked(), false);
    assert.equal(await T(page, "inbox-hours-MON").inputValue(), "09:00-13:00, 14:00-18:00");
    assert.equal(await T(page, "inbox-slaFirst").inputValue(), "15");

    // The snippet on the site: the button shows, a message goes through.
    const site = host.page("/", `<!doctype html><html><head><meta charset="utf-8"><title>A shop</title></head><body><h1>A shop</h1>\n${snippet}\n</body></html>`);
    const visitor = await newPage(b);
    await visitor.goto(site);
    await W(visitor, ".launcher").click();
    await W(visitor, "textarea[name=message]").fill("Do you have it in blue?");
    await W(visitor, "form button[type=submit]").click();
    await until("the visitor's message in the thread", async () =>
      JSON.stringify(await W(visitor, ".msg .text").allTextContents()) === JSON.stringify(["Do you have it in blue?"]) || undefined);
    await shot(visitor, "widget");

    // A new token: the old snippet shows no button, with the reason in the site's console.
    await T(page, "inbox-rotate-token").click();
    await until("the new snippet", async () => { const s = await text(T(page, "widget-snippet-code")); return s && s !== snippet && s; });
    const fresh = await text(T(page, "widget-snippet-code"));
    assert.notEqual(fresh, snippet);
    const freshToken = /data-widget-token="([^"]+)"/.exec(fresh)[1];
    const settingsCode = async (t) => { const r = await gqlRaw(`query($t: String!) { widgetSettings(widgetToken: $t) { inboxId } }`, { t }, null); return r.errors ? r.errors[0].extensions.code : "OK"; };
    await until("the read side to refuse the old token and take the new one", async () =>
      (await settingsCode(token)) === "INVALID_WIDGET_TOKEN" && (await settingsCode(freshToken)) === "OK" || undefined);
    const stale = await newPage(b);
    await stale.goto(site);
    await until("the widget's refusal in the console", async () => stale.consoleLines.some((l) => l.includes("the widget token is not valid")) || undefined);
    assert.equal(await W(stale, ".launcher").count(), 0);
    await shot(stale, "old-snippet");
    const current = await newPage(b);
    await current.goto(host.page("/new", `<!doctype html><html><body><h1>A shop</h1>\n${fresh}\n</body></html>`));
    await until("the button with the new snippet", async () => (await W(current, ".launcher").isVisible()) || undefined);
    host.close();
    const conversation = (await gql(`{ inbox(first: 5) { nodes { id inboxId } } }`)).inbox.nodes.find((c) => c.inboxId === inboxId);
    return { operatorId, inboxId, conversationId: conversation && conversation.id };
  },

  // An endpoint whose receiver fails: Admin → Webhooks shows the dead delivery with its
  // attempts; once the receiver answers, Deliver again delivers it, and the page says so.
  async "webhook-redeliver"(b) {
    const received = [];
    let answer = 500;
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => { body += c; });
      req.on("end", () => { received.push({ id: req.headers["webhook-id"], status: answer, body }); res.writeHead(answer); res.end(answer === 200 ? "ok" : "down"); });
    });
    await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
    const { inboxId, widgetToken } = await inbox({});
    const { page, operatorId } = await signedIn(b, "ann@example.com", "Ann", ["ADMIN"]);
    await page.goto(API + "/#/admin/webhooks/" + inboxId);
    const form = page.locator("details", { has: T(page, "webhook-url") });
    await form.locator("summary").click();
    await T(page, "webhook-url").fill(url);
    await form.locator('input[value="CONVERSATION_CREATED"]').uncheck();
    assert.deepEqual(await form.locator("input[type=checkbox]:checked").evaluateAll((xs) => xs.map((x) => x.value)), ["MESSAGE_IN"]);
    await T(page, "webhook-register").click();
    await until("the signing secret", async () => (await T(page, "webhook-secret-value").count()) && (await text(T(page, "webhook-secret-value"))).startsWith("whsec_") || undefined);
    const endpoint = T(page, "webhook-endpoint");
    await textIs(endpoint.locator("strong.mono"), url, "the endpoint's URL");
    await textIs(T(page, "webhook-state"), "Enabled", "the endpoint's state");

    const started = await visitorWrites(widgetToken, "Hello?");
    // Every attempt fails (9, with the tests' millisecond backoff): the delivery is dead.
    await until("nine failed attempts", async () => received.length === 9 || undefined);
    await until("the dead delivery in the page", async () => {
      await T(page, "webhook-deliveries").click();
      return (await T(page, "delivery-status").count()) && (await text(T(page, "delivery-status"))) === "Failed" || undefined;
    });
    await textIs(T(page, "delivery-attempt-count"), "9", "the attempts");
    await T(page, "webhook-delivery").locator("details summary").click();
    assert.deepEqual(await T(page, "delivery-attempt").evaluateAll((rows) => rows.map((r) => r.cells[3].textContent)), Array(9).fill("500"));
    await shot(page, "dead");

    answer = 200;
    await T(page, "webhook-redeliver").click();
    await textIs(T(page, "toast"), "Done.", "the redelivery's toast");
    await until("the receiver to accept the redelivery", async () => received.length === 10 || undefined);
    await textIs(T(page, "delivery-status"), "Delivered", "the delivery's status after the redelivery");
    await textIs(T(page, "delivery-attempt-count"), "10", "the attempts after the redelivery");
    await shot(page, "delivered");
    receiver.close();
    // The same delivery every time: one webhook-id, one body.
    assert.equal(new Set(received.map((r) => r.id)).size, 1);
    assert.equal(new Set(received.map((r) => r.body)).size, 1);
    const body = JSON.parse(received[9].body);
    const endpointId = await endpoint.getAttribute("data-id");
    return { operatorId, endpointId, conversationId: started.conversationId, deliveryId: received[9].id, event: body.event, statuses: received.map((r) => r.status) };
  },

  // The sign-in page's sentences: five wrong passwords lock the account, and then even the
  // right one gets ACCOUNT_LOCKED; a replaced invitation link gets INVITATION_INVALID, the
  // newer one works.
  async "sign-in-sentences"(b) {
    const { page: first, operatorId: lockedId } = await signedIn(b, "lu@example.com", "Lu", ["ADMIN"]);
    await T(first, "sign-out").click();
    await until("the sign-in page", async () => (await T(first, "sign-in").count()) || undefined);
    const page = await newPage(b);
    await page.goto(API + "/#/sign-in");
    const attempt = async (password) => {
      await T(page, "sign-in-email").fill("lu@example.com");
      await T(page, "sign-in-password").fill(password);
      await T(page, "sign-in-submit").click();
      // The button is disabled while the answer is awaited (slowed after the third failure).
      await until("the answer", async () => (await T(page, "sign-in-submit").isEnabled()) && (await T(page, "sign-in-error").isVisible()) || undefined);
      const said = await text(T(page, "sign-in-error"));
      await page.evaluate(() => { const e = document.querySelector('[data-test="sign-in-error"]'); e.hidden = true; e.textContent = ""; });
      return said;
    };
    const said = [];
    for (let i = 1; i <= 5; i++) said.push(await attempt("wrong guess " + i));
    said.push(await attempt("a long passphrase"));
    await page.evaluate(() => { document.querySelector('[data-test="sign-in-error"]').hidden = false; });
    await shot(page, "locked");

    // Invited twice: the first link was replaced.
    const one = await invite("max@example.com", "Max", ["MODERATOR"]);
    const two = await gql(`mutation($i: InviteOperatorInput!) { inviteOperator(input: $i) { operatorId invitationPath } }`,
      { i: { email: "max@example.com", operatorId: one.operatorId, profile: { name: "Max", roles: ["MODERATOR"] } } });
    assert.notEqual(two.inviteOperator.invitationPath, one.invitationPath);
    const stale = await newPage(b);
    await stale.goto(API + one.invitationPath);
    await T(stale, "invitation-password").fill("a long passphrase");
    await T(stale, "invitation-password-repeat").fill("a long passphrase");
    await T(stale, "invitation-submit").click();
    await textIs(T(stale, "invitation-error"), "This invitation link has expired, was already used or was replaced by a newer one. Ask your admin for a new invitation.", "the replaced link's sentence");
    await shot(stale, "replaced-invitation");
    await stale.goto(API + two.inviteOperator.invitationPath);
    await T(stale, "invitation-password").fill("a long passphrase");
    await T(stale, "invitation-password-repeat").fill("a long passphrase");
    await T(stale, "invitation-submit").click();
    await textIs(T(stale, "operator-name"), "Max", "Max signed in with the newer link");
    return { lockedId, said, invitedId: one.operatorId };
  },

  // An admin invites an operator from Admin → Operators and hands over the link the page
  // shows (no e-mail needed): it opens in another browser, sets a password and signs Mira in
  // as a moderator; the admin's list then shows her without the pending mark.
  async "admin-invites"(b) {
    const { page, operatorId } = await signedIn(b, "ann@example.com", "Ann", ["ADMIN"]);
    await page.goto(API + "/#/admin/operators");
    await until("the operators table", async () => (await T(page, "operators-table").count()) || undefined);
    const form = T(page, "invite");
    await T(page, "invite-open").click();
    await form.locator('[data-test="operator-name-input"]').fill("Mira");
    await form.locator('[data-test="operator-email-input"]').fill("mira@example.com");
    const roles = await form.locator('input[type="checkbox"]:checked').evaluateAll((xs) => xs.map((x) => x.value));
    assert.deepEqual(roles, ["MODERATOR"]);
    await form.locator('[data-test="operator-save"]').click();
    await textIs(T(page, "toast"), "Invitation sent to mira@example.com.", "the invitation's toast");
    await until("the invitation link", async () => (await T(page, "invitation-link-value").count()) || undefined);
    const link = await text(T(page, "invitation-link-value"));
    const prefix = API + "/#/invitation?token=";
    assert.ok(link.startsWith(prefix) && /^[^\s&]+$/.test(link.slice(prefix.length)), link);
    await textIs(T(page, "invitation-link-hint"), "Send this link to Mira if the e-mail does not reach them; it works once, for 7 days.", "the link's sentence");
    // Copy puts the same link on the clipboard.
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: API });
    await T(page, "invitation-link-copy").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    const row = page.locator('[data-test="operator-item"]', { hasText: "mira@example.com" });
    await until("Mira in the list", async () => (await row.count()) || undefined);
    await textIs(row.locator('[data-test="operator-state"]'), "Invitation pending", "Mira's state before she accepts");
    const miraId = await row.getAttribute("data-id");
    await shot(page, "invited");

    // Mira, in a browser of her own.
    const mira = await newPage(b);
    await mira.goto(link);
    await T(mira, "invitation-password").fill("mira's own passphrase");
    await T(mira, "invitation-password-repeat").fill("mira's own passphrase");
    await T(mira, "invitation-submit").click();
    await textIs(T(mira, "operator-name"), "Mira", "Mira's name in the header");
    await until("Mira's inbox", async () => (await mira.evaluate(() => location.hash)).startsWith("#/inbox") || undefined);
    const nav = await mira.locator("nav.sidenav a").evaluateAll((links) => links.map((a) => a.firstChild.textContent));
    assert.deepEqual(nav, ["Inbox", "Profile"]);
    await shot(mira, "inbox");

    // The admin's list: Mira is active now (the read side follows a moment later).
    await until("Mira active in the admin's list", async () => {
      await page.reload();
      await until("the operators table again", async () => (await row.count()) || undefined);
      return (await text(row.locator('[data-test="operator-state"]'))) === "Active" || undefined;
    });
    assert.equal(await row.getAttribute("data-id"), miraId);
    await shot(page, "accepted");
    return { adminId: operatorId, miraId };
  },

  // A refresh token two generations old comes back (stolen, say): the session ends at once,
  // and the console says why on the sign-in page.
  async "reused-refresh-token"(b) {
    const { page, operatorId } = await signedIn(b, "ann@example.com", "Ann", ["MODERATOR"]);
    const context = page.context();
    const refreshCookie = async () => (await context.cookies()).find((c) => c.name === "sb_refresh");
    const first = await refreshCookie();
    assert.ok(first, "the sb_refresh cookie");
    assert.equal(first.path, "/graphql");
    assert.equal(first.httpOnly, true);
    assert.equal(first.sameSite, "Strict");
    assert.equal(first.domain, "127.0.0.1");
    const seen = [first.value];
    // Two reloads: each refreshes the session, and the cookie is rotated each time.
    for (let i = 1; i <= 2; i++) {
      await page.reload();
      await textIs(T(page, "operator-name"), "Ann", `the name after reload ${i}`);
      await until(`the inbox after reload ${i}`, async () => (await T(page, "inbox-list").count()) || undefined);
      const now = await until(`a new refresh cookie after reload ${i}`, async () => {
        const c = await refreshCookie();
        return c && !seen.includes(c.value) && c;
      });
      seen.push(now.value);
    }
    // The first cookie back, as it was set: the next refresh presents it.
    await context.addCookies([{ name: "sb_refresh", value: first.value, domain: first.domain, path: "/graphql", httpOnly: true, secure: first.secure, sameSite: "Strict", expires: first.expires }]);
    assert.equal((await refreshCookie()).value, first.value);
    await page.reload();
    await until("the sign-in page", async () => (await T(page, "sign-in").count()) || undefined);
    await textIs(T(page, "sign-in-error"), "For your safety, we ended your session: it was used from somewhere else. Please sign in again.", "the reuse sentence");
    assert.equal(await T(page, "operator-name").count(), 0);
    await shot(page, "signed-out");
    return { operatorId, cookies: seen.length };
  },
};

const name = process.argv[2];
if (!scenarios[name]) { log("unknown scenario", name); process.exit(2); }
run(scenarios[name]);
