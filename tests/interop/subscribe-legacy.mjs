// Subscribes to a conversation's `messagePosted` with the `subscriptions-transport-ws` npm
// client (Apollo's, now deprecated), which speaks the legacy `graphql-ws` protocol that older
// clients still use.
// Usage: node subscribe-legacy.mjs <ws-url> <token> <conversation-id> <count>
import subscriptionsTransportWs from "subscriptions-transport-ws";
import WebSocket from "ws";

import { MESSAGE_POSTED, describe, parseArgs, reporter } from "./cli.mjs";

const { SubscriptionClient } = subscriptionsTransportWs;
const { url, token, conversationId, expected } = parseArgs("subscribe-legacy.mjs");
const report = reporter(expected);

// The client tells of a disconnect without the close code and reason; this socket keeps them
// (its listener runs before the client's, which is added later).
let closedWith = "the socket closed";
class SocketKeepingCloseReason extends WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => (closedWith = describe(event)));
  }
}

const client = new SubscriptionClient(
  url,
  {
    connectionParams: { authorization: `Bearer ${token}` },
    // Called with the payload of a `connection_error`, without arguments on `connection_ack`.
    connectionCallback: (error) => {
      if (error) report.fail(`subscriptions-transport-ws: connection refused: ${describe(error)}`);
    },
    reconnect: false,
  },
  // Node 20 has no global WebSocket.
  SocketKeepingCloseReason,
);
client.onDisconnected(() => report.fail(`subscriptions-transport-ws: ${closedWith}`));
client.onError((error) => report.fail(`subscriptions-transport-ws: ${describe(error)}`));

client.request({ query: MESSAGE_POSTED, variables: { id: conversationId } }).subscribe({
  next: (payload) => report.next(payload),
  error: (error) => report.fail(`subscriptions-transport-ws: ${describe(error)}`),
  complete: () => report.fail("subscriptions-transport-ws: the server completed the subscription"),
});
