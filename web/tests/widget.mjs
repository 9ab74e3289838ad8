// The widget's browser scenarios: `node --experimental-websocket widget.mjs <scenario>`, run
// by tests/tests/widget.rs, which started the service and checks the log afterwards. Each
// asserts exact text on the page; on failure the harness saves screenshots of every page.
import {
  API, ADMIN_ID, ask, conversations, embed, gql, gqlRaw, hostServer, inbox, log, messagesOf,
  newPage, register, run, shot, subscribe, thread, until, W,
} from "./harness.mjs";
import assert from "node:assert/strict";

const text = async (page, selector) => ((await W(page, selector).first().textContent()) || "").trim();
const textIs = (page, selector, want, seconds) =>
  until(`${selector} to read ${JSON.stringify(want)}`, async () => (await text(page, selector)) === want || undefined, seconds);
const threadIs = (page, want) =>
  until(`the thread to be ${JSON.stringify(want)}`, async () => { const got = await thread(page); return JSON.stringify(got) === JSON.stringify(want) || undefined; });

/** The thread once nothing is left sending: exactly `want`, each message once. */
const settledIs = (page, want) =>
  until(`the settled thread to be ${JSON.stringify(want)}`, async () => {
    if (await W(page, "[data-pending]").count()) return undefined;
    return JSON.stringify(await thread(page)) === JSON.stringify(want) || undefined;
  });

/** Opens the widget and starts a chat from the form. */
async function startChat(page, { name = "Olena", message = "Hello, where is my order?" } = {}) {
  await W(page, ".launcher").click();
  if (name) await W(page, "input[name=name]").fill(name);
  await W(page, "textarea[name=message]").fill(message);
  await W(page, "form button[type=submit]").click();
  await threadIs(page, [message]);
}

async function onlyConversation() {
  return until("the conversation in the operator's inbox", async () => { const list = await conversations(); return list.length === 1 && list[0]; });
}

const reply = (conversationId, body) =>
  gql(`mutation($input: ReplyInput!) { replyToConversation(input: $input) { id } }`, { input: { conversationId, body } });

// A 1×1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

const scenarios = {
  /** Start from the form, live reply, typing both ways, read marker, offline banner. */
  async chat(b) {
    await register("Ann"); // registered, not online: nobody is there, so the offline banner shows
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin], requiredFields: ["NAME"], greeting: "Hi! Ask us anything." });
    const page = await newPage(b);
    await page.goto(host.page("/", embed({ widgetToken })));
    await W(page, ".launcher").click();
    await textIs(page, "h2", "Support");
    await textIs(page, ".greeting", "Hi! Ask us anything.");
    await textIs(page, ".banner", "No one is online right now. Leave a message and we will answer as soon as we can.");
    // The required name is missing: a sentence, and nothing recorded (the Rust side counts).
    await W(page, "textarea[name=message]").fill("Hello, where is my order?");
    await W(page, "form button[type=submit]").click();
    await textIs(page, ".notice", "Please fill in: Name.");
    await shot(page, "form-refused");
    await W(page, "input[name=name]").fill("Olena");
    await W(page, "form button[type=submit]").click();
    await threadIs(page, ["Hello, where is my order?"]);
    await textIs(page, ".status", "An operator is joining…");
    const c = await onlyConversation();
    await gql(`mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }`, { id: c.id });
    await textIs(page, ".status", "Ann is joining…");
    // The operator types: the visitor sees it.
    await gql(`mutation($id: UUID!) { setTyping(conversationId: $id, typing: true) }`, { id: c.id });
    await textIs(page, ".typing", "Ann is typing…");
    // The visitor types: the operator sees it.
    const typing = subscribe(`subscription($id: UUID!) { typing(conversationId: $id) { sender { kind } typing } }`, { id: c.id });
    await typing.ready;
    // (Typed again until seen: the widget signals once per 3 s, and the subscription may not
    // be registered on the server yet when it first does.)
    const box = W(page, ".composer textarea");
    await until("the operator to see the visitor typing", async () => {
      await box.fill(""); await box.pressSequentially("It is order");
      return typing.seen.some((e) => e.typing.sender.kind === "CONTACT" && e.typing.typing);
    });
    typing.close();
    await reply(c.id, "It ships today!");
    await threadIs(page, ["Hello, where is my order?", "It ships today!"]);
    await textIs(page, ".typing", "");
    await textIs(page, ".status", "Reply received");
    await W(page, ".composer textarea").fill("It is order #1042");
    await W(page, ".composer textarea").press("Enter");
    await settledIs(page, ["Hello, where is my order?", "It ships today!", "It is order #1042"]);
    await textIs(page, ".status", "Ann is answering");
    // The reply was shown with the panel open: the operator sees the visitor's read marker.
    await until("the visitor's read marker", async () => (await messagesOf(c.id)).find((m) => m.body === "It ships today!").readAt);
    await shot(page, "chat");
    // Closed: a reply shows as an unread count on the button, and the page hears of it.
    await page.evaluate(() => { window.__unread = []; window.Switchboard.on("unread", (e) => window.__unread.push(e.count)); });
    await page.keyboard.press("Escape");
    await reply(c.id, "Anything else?");
    await textIs(page, ".launcher .bubble", "1");
    assert.equal(await W(page, ".launcher").getAttribute("aria-label"), "Open chat (1 unread)");
    await shot(page, "unread");
    // Still there after a reload: the count comes from the service.
    await page.reload();
    await textIs(page, ".launcher .bubble", "1");
    await W(page, ".launcher").click();
    await until("the bubble gone", async () => (await W(page, ".launcher .bubble").isHidden()) || undefined);
    assert.equal(await page.evaluate(() => window.Switchboard.unreadCount), 0);
    await until("the second read marker", async () => (await messagesOf(c.id)).find((m) => m.body === "Anything else?").readAt);
    return { conversationId: c.id };
  },

  /** Reload and a second tab show the same history; a restart mid-chat loses and repeats nothing. */
  async history(b) {
    await register("Ann");
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin] });
    const url = host.page("/", embed({ widgetToken }));
    const page = await newPage(b);
    await page.goto(url);
    await startChat(page, { message: "First" });
    const c = await onlyConversation();
    await reply(c.id, "Second");
    await threadIs(page, ["First", "Second"]);
    await page.reload();
    await W(page, ".launcher").click();
    await threadIs(page, ["First", "Second"]);
    const tab = await newPage(b, { context: page.context() });
    await tab.goto(url);
    await W(tab, ".launcher").click();
    await threadIs(tab, ["First", "Second"]);
    // The service goes down and comes back (same port); the sockets reconnect and catch up.
    await ask("restart");
    await reply(c.id, "Third, after the restart");
    await threadIs(page, ["First", "Second", "Third, after the restart"]);
    await threadIs(tab, ["First", "Second", "Third, after the restart"]);
    await W(page, ".composer textarea").fill("Fourth");
    await W(page, ".composer textarea").press("Enter");
    await settledIs(page, ["First", "Second", "Third, after the restart", "Fourth"]);
    await settledIs(tab, ["First", "Second", "Third, after the restart", "Fourth"]);
    // Down for a while: the sockets back off. Right after it is back, the operator replies and
    // the visitor writes over HTTP before the socket has reconnected; the reconnect must still
    // bring the reply.
    await ask("stop");
    await textIs(page, ".notice", "Connection lost. Reconnecting…");
    await new Promise((r) => setTimeout(r, 2500)); // the outage: long enough for a few failed reconnects
    await ask("start");
    await reply(c.id, "Fifth, from the operator");
    await W(page, ".composer textarea").fill("Sixth, before the socket is back");
    await W(page, ".composer textarea").press("Enter");
    const all = ["First", "Second", "Third, after the restart", "Fourth", "Fifth, from the operator", "Sixth, before the socket is back"];
    await settledIs(page, all);
    await settledIs(tab, all);
    // And after one more reload, from the service's history alone.
    await page.reload();
    await W(page, ".launcher").click();
    await settledIs(page, all);
    await shot(tab, "second-tab");
    return { conversationId: c.id };
  },

  /** An image goes up (with progress) and comes down; a wrong type and a size over the limit get sentences. */
  async attachments(b) {
    await register("Ann");
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin], attachmentTypes: ["PNG", "PDF"], maxAttachmentBytes: 2048 });
    const page = await newPage(b);
    await page.goto(host.page("/", embed({ widgetToken })));
    await startChat(page, { message: "Here is the photo" });
    const c = await onlyConversation();
    const input = W(page, "input[type=file]");
    await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
    await textIs(page, ".notice", "notes.txt cannot be sent: this chat takes PNG, PDF.");
    await input.setInputFiles({ name: "big.png", mimeType: "image/png", buffer: Buffer.concat([PNG, Buffer.alloc(4096)]) });
    await textIs(page, ".notice", "big.png is too large: the limit is 2 KB.");
    await input.setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: PNG });
    await until("the image in the thread", async () => (await W(page, ".msg img").count()) === 1);
    await until("the image downloaded into the page", async () => (await W(page, ".msg img").getAttribute("src") || "").startsWith("blob:"));
    const [sent] = await until("the attachment on the operator's side", async () => { const with_ = (await messagesOf(c.id)).filter((m) => m.attachments.length); return with_.length && with_; });
    const file = sent.attachments[0];
    assert.equal(file.name, "photo.png");
    const res = await fetch(API + file.url, { headers: { authorization: "Bearer " + process.env.SB_ADMIN_TOKEN } });
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG);
    await shot(page, "attachment");
    return { conversationId: c.id, attachmentId: file.id };
  },

  /** A call-back from a chat, and a guest's in Ukrainian; consent shown and recorded. */
  async callback(b) {
    await register("Ann");
    await gql(`mutation { setOperatorStatus(status: ONLINE) { changed } }`);
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin] });
    const url = host.page("/", embed({ widgetToken }));
    const page = await newPage(b);
    await page.goto(url);
    await startChat(page, { message: "Please call me" });
    await W(page, "header button[aria-haspopup=menu]").click();
    await W(page, ".menu button").filter({ hasText: "Request a call-back" }).click();
    const phone = W(page, "input[name=phone]");
    await phone.fill("12ab");
    await textIs(page, ".hint", "This does not look like a phone number: use digits and the country code, e.g. +380 44 123 45 67.");
    assert.equal(await W(page, "form button[type=submit]").isDisabled(), true);
    await phone.fill("+380 44 123 45 67");
    await textIs(page, ".hint", "With the country code, e.g. +380 44 123 45 67");
    assert.equal(await W(page, "form button[type=submit]").isDisabled(), true, "consent not given yet");
    await textIs(page, ".check span", "I agree that my phone number and name are used to call me back about this request.");
    await W(page, "input[name=consent]").check();
    await W(page, "form button[type=submit]").click();
    await textIs(page, ".done", "Thank you! We will call you at +380 44 123 45 67.");
    await textIs(page, ".status", "We will call you");
    const inChat = await onlyConversation();

    // A guest with no chat, in Ukrainian.
    const guest = await newPage(b, { locale: "uk-UA" });
    await guest.goto(url);
    await W(guest, ".launcher").click();
    await W(guest, "button.link").filter({ hasText: "Замовити зворотний дзвінок" }).click();
    await W(guest, "input[name=name]").fill("Петро");
    await W(guest, "input[name=phone]").fill("+380 67 765 43 21");
    await W(guest, "input[name=consent]").check();
    await W(guest, "form button[type=submit]").click();
    await textIs(guest, ".done", "Дякуємо! Ми передзвонимо вам за номером +380 67 765 43 21.");
    await textIs(guest, ".status", "Ми вам передзвонимо");
    await shot(guest, "guest-callback-uk");
    const list = await until("both conversations", async () => { const l = await conversations(); return l.length === 2 && l; });
    return { inChat: inChat.id, guest: list.find((x) => x.id !== inChat.id).id };
  },

  /** Outside working hours: the banner with the next opening, in Russian. */
  async hours(b) {
    const host = await hostServer();
    const today = new Date().toISOString().slice(0, 10);
    const week = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"].map((day) => ({ day, periods: [{ start: "00:00", end: "23:59" }] }));
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin], workingHours: { timeZone: "UTC", week, holidays: [today] } });
    const page = await newPage(b, { locale: "ru-RU" });
    await page.goto(host.page("/", embed({ widgetToken })));
    await W(page, ".launcher").click();
    const banner = await until("the banner", async () => text(page, ".banner"));
    assert.match(banner, /^Сейчас нерабочее время\. Оставьте сообщение — мы ответим, когда вернёмся\. Мы снова на связи: .+\.$/);
    assert.equal(await W(page, ".banner").getAttribute("data-state"), "OUTSIDE_WORKING_HOURS");
    await shot(page, "outside-hours-ru");
    return {};
  },

  /** The rating after resolve (CSAT); a signed-in user with a valid and a forged identity hash. */
  async rating(b) {
    await register("Ann");
    const host = await hostServer();
    const { inboxId, widgetToken } = await inbox({ allowedOrigins: [host.origin], rating: "CSAT" });
    const { secret } = (await gql(`mutation($id: UUID!) { rotateIdentitySecret(inboxId: $id) { secret } }`, { id: inboxId })).rotateIdentitySecret;
    const { createHmac } = await import("node:crypto");
    const hash = createHmac("sha256", secret).update("user-42").digest("hex");
    const signedIn = (identityHash) => `window.Switchboard = [["setUser", ${JSON.stringify({ id: "user-42", name: "Iryna", email: "iryna@example.com", identityHash })}]];`;

    // A forged hash: a sentence in Russian, nothing recorded.
    const forged = await newPage(b, { locale: "ru-RU" });
    await forged.goto(host.page("/forged", embed({ widgetToken, before: signedIn("0".repeat(64)) })));
    await W(forged, ".launcher").click();
    assert.equal(await W(forged, "input[name=name]").inputValue(), "Iryna");
    await W(forged, "textarea[name=message]").fill("Hello");
    await W(forged, "form button[type=submit]").click();
    await textIs(forged, ".notice", "Не удалось подтвердить ваш вход. Войдите на сайт заново.");

    // The valid hash: the chat starts, then is resolved and rated.
    const page = await newPage(b);
    await page.goto(host.page("/", embed({ widgetToken, before: signedIn(hash) })));
    await startChat(page, { name: null, message: "Hello as a signed-in user" });
    const c = await onlyConversation();
    // A new device of the same user finds the same chat.
    const other = await newPage(b);
    await other.goto(host.page("/", embed({ widgetToken, before: signedIn(hash) })));
    await W(other, ".launcher").click();
    await threadIs(other, ["Hello as a signed-in user"]);
    await gql(`mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }`, { id: c.id });
    await textIs(page, ".status", "The chat has ended");
    await textIs(page, ".rating > div", "How did we do?");
    await W(page, ".scores button[aria-label='4 of 5']").click();
    await W(page, ".rating textarea").fill("Quick and kind");
    await W(page, ".rating button.primary").click();
    await textIs(page, ".done", "Thank you for your rating!");
    await shot(page, "rated");
    return { conversationId: c.id, contactId: c.contact.id };
  },

  /** A page whose CSS styles every element hostilely still shows the widget as designed. */
  async hostile(b) {
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin], color: "#0a7d4f" });
    // Every element of the page's content styled hostilely, the widget's own element hidden
    // by name, and inherited properties set on body. (Ancestors' opacity or transform cannot be
    // undone by anything they contain, widget or iframe, so html and body keep theirs.)
    const css = `<style>
      body { font-size: 40px !important; color: red !important; font-family: "Comic Sans MS", cursive !important;
             line-height: 3 !important; letter-spacing: 4px !important; text-align: right !important; }
      body * { all: unset; color: red !important; font-size: 40px !important; background: yellow !important;
               display: inline !important; position: static !important; border: 5px dotted blue !important;
               width: 10px !important; height: 10px !important; opacity: .3 !important; transform: rotate(8deg) !important;
               box-sizing: content-box !important; padding: 9px !important; margin: 7px !important; }
      switchboard-widget, div, button, [class*=chat] { display: none !important; visibility: hidden !important; }
      svg { fill: red !important; }
    </style>`;
    const page = await newPage(b);
    await page.goto(host.page("/", embed({ widgetToken, head: css })));
    const launcher = W(page, ".launcher");
    await launcher.waitFor({ state: "visible" });
    const box = await launcher.boundingBox();
    assert.deepEqual([Math.round(box.width), Math.round(box.height)], [56, 56]);
    assert.deepEqual([Math.round(box.x + box.width), Math.round(box.y + box.height)], [1280 - 20, 800 - 20]);
    const style = await launcher.evaluate((n) => { const s = getComputedStyle(n); return [s.backgroundColor, s.position, s.opacity, s.transform]; });
    assert.deepEqual(style, ["rgb(10, 125, 79)", "fixed", "1", "none"]);
    await launcher.click();
    const panel = W(page, ".panel");
    await panel.waitFor({ state: "visible" });
    const pbox = await panel.boundingBox();
    assert.equal(Math.round(pbox.width), 380);
    const h2 = await W(page, "h2").evaluate((n) => { const s = getComputedStyle(n); return [s.fontSize, s.color, s.fontFamily.includes("Comic")]; });
    assert.deepEqual(h2, ["16px", "rgb(255, 255, 255)", false]);
    await shot(page, "hostile-css");
    // The keyboard: focus starts in the form, Tab stays inside the panel, Escape closes it and
    // gives focus back to the button.
    const focused = () => page.evaluate(() => { const a = document.querySelector("switchboard-widget").shadowRoot.activeElement; return a ? (a.getAttribute("name") || a.getAttribute("aria-label") || a.textContent.trim()) : null; });
    assert.equal(await focused(), "name");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await focused(), "Close chat");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await focused(), "Request a call-back", "from the first control back to the last");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "Close chat", "from the last control to the first");
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "hidden" });
    assert.equal(await focused(), "Open chat");
    // A phone: the panel takes the whole screen.
    const phone = await newPage(b, { viewport: { width: 375, height: 700 } });
    await phone.goto(host.page("/", embed({ widgetToken })));
    await W(phone, ".launcher").click();
    const full = await W(phone, ".panel").boundingBox();
    assert.deepEqual([full.x, full.y, full.width, full.height], [0, 0, 375, 700]);
    await shot(phone, "phone");
    return {};
  },

  /** Over the rate limit: the widget waits as told and sends each message once, in order. */
  async rateLimited(b) {
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin] });
    const page = await newPage(b);
    await page.goto(host.page("/", embed({ widgetToken })));
    await startChat(page, { name: null, message: "m0" });
    const box = W(page, ".composer textarea");
    const written = ["m1", "m2", "m3", "m4", "m5", "m6"];
    for (const body of written) { await box.fill(body); await box.press("Enter"); }
    await until("the retry notice", async () => /^Too many messages at once\. Sending again in \d+ s…$/.test(await text(page, ".notice")));
    await shot(page, "rate-limited");
    await settledIs(page, ["m0", ...written]);
    const c = await onlyConversation();
    const want = JSON.stringify(["m0", ...written]);
    await until("the operator's thread in the same order", async () => JSON.stringify((await messagesOf(c.id)).map((m) => m.body)) === want || undefined);
    return { conversationId: c.id };
  },

  /** "Continue in Telegram" opens the bot with the conversation's link (the Bot API is the tests' fake). */
  async telegram(b) {
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: [host.origin] });
    const page = await newPage(b);
    await page.context().route("https://t.me/**", (route) => route.fulfill({ contentType: "text/html", body: "<title>Telegram</title>" }));
    await page.goto(host.page("/", embed({ widgetToken })));
    await startChat(page, { name: null, message: "Can we talk in Telegram?" });
    await W(page, "header button[aria-haspopup=menu]").click();
    const popup = page.context().waitForEvent("page");
    await W(page, ".menu button").filter({ hasText: "Continue in Telegram" }).click();
    const opened = await popup;
    await opened.waitForLoadState();
    const link = new URL(opened.url());
    assert.equal(link.origin + link.pathname, "https://t.me/" + process.env.SB_BOT_USERNAME);
    assert.match(link.searchParams.get("start"), /^link_[A-Za-z0-9_-]+$/);
    return { start: link.searchParams.get("start") };
  },

  /** /demo (the service's own demo inbox) works as a newcomer finds it; the e-mail's resume link opens a chat full-page. */
  async demoAndResume(b) {
    const demoToken = (await (await fetch(API + "/demo")).text()).match(/data-widget-token="(sbw_[0-9a-f]+)"/)[1];
    await until("the demo inbox on the read side", async () => (await gqlRaw(`query($t: String!) { widgetSettings(widgetToken: $t) { inboxId } }`, { t: demoToken }, null)).data);
    const demo = await newPage(b);
    await demo.goto(API + "/demo");
    await W(demo, ".launcher").click();
    await textIs(demo, "h2", "Switchboard demo");
    await W(demo, "textarea[name=message]").fill("Hello from the demo");
    await W(demo, "form button[type=submit]").click();
    await threadIs(demo, ["Hello from the demo"]);
    await shot(demo, "demo");

    // A conversation of an inbox that allows only another site: its resume link, on the
    // service's own origin, still works.
    const { widgetToken } = await inbox({ allowedOrigins: ["https://shop.example"] });
    const started = (await gql(`mutation($input: StartConversationInput!) { startConversation(input: $input) { conversationId sessionToken } }`,
      { input: { widgetToken, message: "Where is my parcel?" } }, null)).startConversation;
    await reply(started.conversationId, "On its way!");
    const page = await newPage(b, { viewport: { width: 800, height: 700 } });
    await page.goto(API + "/chat/resume?token=" + encodeURIComponent(started.sessionToken));
    await threadIs(page, ["Where is my parcel?", "On its way!"]);
    assert.equal(await W(page, ".launcher").isVisible(), false);
    const full = await W(page, ".panel").boundingBox();
    assert.deepEqual([full.x, full.y, full.width, full.height], [0, 0, 800, 700]);
    await W(page, ".composer textarea").fill("Thank you");
    await W(page, ".composer textarea").press("Enter");
    await settledIs(page, ["Where is my parcel?", "On its way!", "Thank you"]);
    await shot(page, "resume");
    // The link still works when the page is reloaded.
    await page.reload();
    await settledIs(page, ["Where is my parcel?", "On its way!", "Thank you"]);
    // A link that does not hold a session says so, in three languages.
    const expired = await newPage(b);
    const res = await expired.goto(API + "/chat/resume?token=forged");
    assert.equal(res.status(), 404);
    assert.equal(await expired.locator("h1").first().textContent(), "This chat link has expired");
    return { conversationId: started.conversationId };
  },

  /** A page not in the inbox's allowed origins: no widget, a clear console message. */
  async origin(b) {
    const host = await hostServer();
    const { widgetToken } = await inbox({ allowedOrigins: ["https://shop.example"] });
    const page = await newPage(b);
    const said = new Promise((resolve) => page.on("console", (m) => { if (m.type() === "error" && m.text().startsWith("[Switchboard]")) resolve(m.text()); }));
    await page.goto(host.page("/", embed({ widgetToken })));
    assert.equal(await said, `[Switchboard] this page's origin (${host.origin}) is not among the inbox's allowed origins: add it in the inbox's settings (allowedOrigins). No button is shown.`);
    assert.equal(await page.locator("switchboard-widget").count(), 0);
    return {};
  },

  /** The widget API switched off (the Messenger switch): no button at all. */
  async messengerOff(b) {
    const host = await hostServer();
    // Admins still reach the API; visitors' calls all answer 404 "Messenger disabled".
    const { widgetToken } = (await gql(`mutation { createInbox(input: {settings: {title: "Support"}}) { widgetToken } }`)).createInbox;
    const page = await newPage(b);
    const said = new Promise((resolve) => page.on("console", (m) => { if (m.text().startsWith("[Switchboard]")) resolve(m.text()); }));
    await page.goto(host.page("/", embed({ widgetToken })));
    assert.equal(await said, "[Switchboard] the chat is switched off (the widget API is disabled): no button is shown.");
    assert.equal(await page.locator("switchboard-widget").count(), 0);
    return {};
  },
};

const name = process.argv[2];
if (!scenarios[name]) { log("no scenario", name, "; have", Object.keys(scenarios).join(", ")); process.exit(2); }
run(scenarios[name]);
