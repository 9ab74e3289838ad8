// The contract both subscriber scripts share with tests/tests/interop.rs: the arguments they
// take, one JSON line on stdout per `next` payload, exit 0 after the expected count, and
// exit 1 with one line on stderr saying what went wrong otherwise.

/** How long a run may take before it gives up: well above the projection's latency. */
const TIMEOUT_MS = 30_000;

export const MESSAGE_POSTED = `subscription($id: UUID!) {
  messagePosted(conversationId: $id, afterPosition: 0) { id body }
}`;

/** `node <script> <ws-url> <token> <conversation-id> <count>`, or exits 2 with the usage. */
export function parseArgs(script) {
  const [url, token, conversationId, count] = process.argv.slice(2);
  const expected = Number(count);
  if (!url || !token || !conversationId || !Number.isInteger(expected) || expected < 1) {
    process.stderr.write(`usage: node ${script} <ws-url> <token> <conversation-id> <count>\n`);
    process.exit(2);
  }
  return { url, token, conversationId, expected };
}

/**
 * Prints payloads as they come and ends the process: exit 0 once `expected` have been
 * printed, exit 1 on `fail` or after TIMEOUT_MS.
 */
export function reporter(expected) {
  let received = 0;
  let done = false;
  // Exit only once stdout has taken the line, so the reader never misses the last one.
  const finish = (code) => process.stdout.write("", () => process.exit(code));
  const fail = (reason) => {
    if (done) return;
    done = true;
    process.stderr.write(`${reason} (after ${received} of ${expected} messages)\n`);
    finish(1);
  };
  setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
  return {
    next(payload) {
      if (done) return;
      if (payload.errors) return fail(`subscription error: ${JSON.stringify(payload.errors)}`);
      process.stdout.write(`${JSON.stringify(payload)}\n`);
      received += 1;
      if (received === expected) {
        done = true;
        finish(0);
      }
    },
    fail,
  };
}

/** A readable reason from whatever a client hands its error callback. */
export function describe(error) {
  // An Error, or an ErrorEvent of the `ws` package (which carries a message but is no Error).
  if (typeof error?.message === "string" && error.message) return error.message;
  if (error && typeof error.code === "number") {
    return `socket closed with code ${error.code}${error.reason ? `: ${error.reason}` : ""}`;
  }
  return JSON.stringify(error);
}
