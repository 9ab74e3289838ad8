// Subscribes to a conversation's `messagePosted` with the `graphql-ws` npm client, the
// reference implementation of the graphql-transport-ws protocol.
// Usage: node subscribe.mjs <ws-url> <token> <conversation-id> <count>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { MESSAGE_POSTED, describe, parseArgs, reporter } from "./cli.mjs";

const { url, token, conversationId, expected } = parseArgs("subscribe.mjs");
const report = reporter(expected);

const client = createClient({
  url,
  // Node 20 has no global WebSocket.
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  // A dropped connection is a failure to report, not something to paper over.
  retryAttempts: 0,
  on: { closed: (event) => report.fail(`graphql-ws: ${describe(event)}`) },
});

client.subscribe(
  { query: MESSAGE_POSTED, variables: { id: conversationId } },
  {
    next: (payload) => report.next(payload),
    error: (error) => report.fail(`graphql-ws: ${describe(error)}`),
    complete: () => report.fail("graphql-ws: the server completed the subscription"),
  },
);
