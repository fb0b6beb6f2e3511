// git-collector: entry of the vendored GraphiQL bundle (vendor/graphiql/graphiql.js).
//
// Mounts GraphiQL into #graphiql. Queries and mutations go to POST /graphql on the
// same origin; subscriptions go over ws(s)://<same host>/graphql/ws with the
// graphql-transport-ws protocol (graphql-ws client). No network access other than
// the page's own origin; no inline scripts or styles (the page has a strict CSP).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import './graphiql-page.css';

const HTTP_PATH = '/graphql';
const WS_PATH = '/graphql/ws';

function endpoints(loc) {
  const wsScheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: loc.origin + HTTP_PATH, ws: wsScheme + '//' + loc.host + WS_PATH };
}

// The operation GraphiQL is about to run: the named one, or the only one.
function operationType(query, operationName) {
  let doc;
  try {
    doc = parse(query);
  } catch {
    return null; // let the server report the syntax error
  }
  const ops = doc.definitions.filter((d) => d.kind === 'OperationDefinition');
  const op = operationName ? ops.find((o) => o.name && o.name.value === operationName) : ops.length === 1 ? ops[0] : null;
  return op ? op.operation : null;
}

function makeFetcher(urls) {
  let ws = null; // opened lazily, on the first subscription
  const wsClient = () => {
    if (!ws) ws = createClient({ url: urls.ws, lazy: true, retryAttempts: 3 });
    return ws;
  };
  return (params, opts) => {
    if (operationType(params.query, params.operationName) === 'subscription') {
      return wsClient().iterate(params); // AsyncIterable of ExecutionResult
    }
    const headers = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...((opts && opts.headers) || {}),
    };
    return fetch(urls.http, {
      method: 'POST',
      headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
    }).then(async (res) => {
      const text = await res.text();
      try {
        return JSON.parse(text);
      } catch {
        return { errors: [{ message: `HTTP ${res.status}: ${text.slice(0, 500)}` }] };
      }
    });
  };
}

const mount = document.getElementById('graphiql');
const title = mount.getAttribute('data-title') || 'git-collector';
const fetcher = makeFetcher(endpoints(window.location));

createRoot(mount).render(
  React.createElement(
    GraphiQL,
    { fetcher },
    React.createElement(GraphiQL.Logo, null, title),
  ),
);
