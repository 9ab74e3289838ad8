// `bench console` (bench/src/console.rs starts the service, fills the inbox and runs this):
// the console's first load as served (gzipped bytes of /, /console.js, /console.css) and the
// time from navigation to the inbox's first row on the page, after a real sign-in (each
// reload refreshes the session through the cookie). Prints one JSON line.
import { API, gql, newPage, browser } from "./harness.mjs";

const LOADS = Number(process.env.SB_LOADS || 10);

function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: q(0.5), p99: q(0.99) };
}

let gzipBytes = 0, rawBytes = 0;
for (const path of ["/", "/console.js", "/console.css"]) {
  const gz = await fetch(API + path, { headers: { "accept-encoding": "gzip" } });
  const body = Buffer.from(await gz.arrayBuffer());
  gzipBytes += Number(gz.headers.get("content-length")) || body.length;
  const raw = await fetch(API + path, { headers: { "accept-encoding": "identity" } });
  rawBytes += Buffer.from(await raw.arrayBuffer()).length;
}

const invited = (await gql(`mutation($i: InviteOperatorInput!) { inviteOperator(input: $i) { invitationPath } }`,
  { i: { email: "bench@example.com", profile: { name: "Bench", roles: ["ADMIN"] } } })).inviteOperator;
const b = await browser();
const page = await newPage(b);
await page.addInitScript(() => {
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-test="inbox-row"]')) {
      window.__shown = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
});
await page.goto(API + invited.invitationPath);
await page.fill('[data-test="invitation-password"]', "a long passphrase");
await page.fill('[data-test="invitation-password-repeat"]', "a long passphrase");
await page.click('[data-test="invitation-submit"]');
await page.waitForSelector('[data-test="operator-name"]');
const shown = [];
for (let i = 0; i < LOADS; i++) {
  await page.goto(API + "/#/inbox/all");
  await page.reload();
  await page.waitForFunction(() => window.__shown !== undefined, null, { timeout: 30000 });
  shown.push(await page.evaluate(() => window.__shown));
}
await b.close();
process.stdout.write(JSON.stringify({ gzipBytes, rawBytes, shown: quantiles(shown) }) + "\n");
process.exit(0);
