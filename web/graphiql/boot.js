// Starts GraphiQL on the page `GET /graphql` serves (index.html, after the vendored React,
// ReactDOM and GraphiQL builds). A file of its own, not an inline script, so the page's
// Content-Security-Policy can keep script-src to 'self'.
//
// Queries and mutations are POSTed to `graphql` beside the page, which is the page's own
// address (/graphql, or /prefix/graphql behind a proxy's prefix); subscriptions go over a
// WebSocket to the same address (graphql-transport-ws, GraphiQL's bundled graphql-ws). Headers
// set in GraphiQL's header editor ({"Authorization": "Bearer …"}) are sent with each request
// and, for subscriptions, as the connection_init payload, which is where the service reads a
// socket's token.
(function () {
  "use strict";
  var endpoint = new URL("graphql", window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = window.GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
  });
  window.ReactDOM.createRoot(document.getElementById("graphiql")).render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
