// The operator console's browser scenarios: `node --experimental-websocket console.mjs
// <scenario>`, run by tests/tests/console.rs, which started the service and checks the log
// afterwards. Each asserts exact text on the page.
import { API, gql, gqlRaw, inbox, log, newPage, run, shot, until } from "./harness.mjs";
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
    await T(page, "reply-box").fill("It ships today.");
    await T(page, "send-button").click();
    await until("the reply in the thread", async () => {
      const bodies = await T(page, "message-body").allTextContents();
      return JSON.stringify(bodies.map((s) => s.trim())) === JSON.stringify(["Hello, where is my order?", "It ships today."]) || undefined;
    });
    await shot(page, "conversation");

    // A reload keeps the session (the refresh cookie) and the conversation.
    await page.reload();
    await textIs(T(page, "operator-name"), "Ann", "the name after a reload");
    await T(page, "sign-out").click();
    await until("the sign-in page after signing out", async () => (await T(page, "sign-in").count()) || undefined);
    return { conversationId: started.conversationId, operatorId: ann.operatorId, refusal };
  },
};

const name = process.argv[2];
if (!scenarios[name]) { log("unknown scenario", name); process.exit(2); }
run(scenarios[name]);
