// The dashboard's only way to the service: POST /graphql (same origin) and a small
// graphql-transport-ws client for subscriptions at /graphql/ws.

/** A failed request. `code` is the server's extensions.code, or NETWORK when it did not answer. */
export class ApiError extends Error {
  constructor(message, code, details = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }
}

/** Runs a query or mutation; resolves with `data`, rejects with an ApiError. */
export async function request(query, variables = {}, { token, signal } = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  let body;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      signal,
      credentials: 'same-origin',
    });
    body = await response.json();
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError('the API is not answering', 'NETWORK');
  }
  if (body && Array.isArray(body.errors) && body.errors.length > 0) {
    const first = body.errors[0];
    const code = (first.extensions && first.extensions.code) || 'UNKNOWN';
    throw new ApiError(first.message || 'request failed', code, body.errors);
  }
  if (!response.ok || !body || !body.data) {
    throw new ApiError('the API is not answering', response.status >= 500 ? 'NETWORK' : 'UNKNOWN');
  }
  return body.data;
}

/** A sentence for a person, from an error of `request` or of a subscription. */
export function humanMessage(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong in the page: ' + String(err && err.message || err);
  switch (err.code) {
    case 'NETWORK':
      return 'the API is not answering. Check that the service is running, then try again.';
    case 'UNAUTHENTICATED':
      return 'The admin token was not accepted. Enter the ADMIN_TOKEN the service was started with.';
    case 'BAD_USER_INPUT':
      return `The service refused the request: ${err.message}.`;
    case 'NOT_FOUND':
      return `Not found: ${err.message}.`;
    case 'SERVICE_UNAVAILABLE':
      return "The service's database is not answering; try again in a moment.";
    case 'INTERNAL_SERVER_ERROR':
      return 'The service failed while answering (an internal error, logged on the server).';
    default:
      return `The request failed: ${err.message}.`;
  }
}

/**
 * Fetches every page of a connection, `first: 100` at a time, following pageInfo.endCursor.
 * `pick(data)` returns the connection. Stops after `maxPages` pages (sets `truncated`).
 */
export async function fetchAll(query, variables, pick, { signal, maxPages = 20 } = {}) {
  const nodes = [];
  let after = null;
  for (let page = 0; page < maxPages; page += 1) {
    const data = await request(query, { ...variables, first: 100, after }, { signal });
    const conn = pick(data);
    if (!conn) return { nodes, data, truncated: false };
    nodes.push(...conn.nodes);
    if (!conn.pageInfo.hasNextPage) return { nodes, data, truncated: false };
    after = conn.pageInfo.endCursor;
  }
  return { nodes, truncated: true };
}

/**
 * graphql-transport-ws over one lazily opened socket. `subscribe` returns an unsubscribe
 * function; the socket closes when nothing is subscribed and reconnects (re-subscribing)
 * when it drops while something is.
 */
export class SubscriptionClient {
  constructor(url) {
    this.url = url;
    this.socket = null;
    this.acked = false;
    this.nextId = 1;
    this.active = new Map(); // id -> { payload, sink }
    this.retries = 0;
    this.closeTimer = null;
    this.retryTimer = null;
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.active.set(id, { payload: { query, variables }, sink });
    clearTimeout(this.closeTimer);
    if (this.acked) this.send({ id, type: 'subscribe', payload: { query, variables } });
    else this.open();
    return () => {
      if (!this.active.delete(id)) return;
      if (this.acked) this.send({ id, type: 'complete' });
      this.scheduleClose();
    };
  }

  open() {
    if (this.socket) return;
    const socket = new WebSocket(this.url, 'graphql-transport-ws');
    this.socket = socket;
    this.acked = false;
    socket.addEventListener('open', () => this.send({ type: 'connection_init', payload: {} }));
    socket.addEventListener('message', (event) => this.onMessage(event));
    socket.addEventListener('close', () => this.onClose(socket));
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  onMessage(event) {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    const entry = msg.id ? this.active.get(msg.id) : null;
    switch (msg.type) {
      case 'connection_ack':
        this.acked = true;
        this.retries = 0;
        for (const [id, sub] of this.active) this.send({ id, type: 'subscribe', payload: sub.payload });
        this.scheduleClose();
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'next':
        if (!entry) break;
        if (msg.payload && msg.payload.errors && msg.payload.errors.length) {
          const e = msg.payload.errors[0];
          entry.sink.error?.(new ApiError(e.message, (e.extensions && e.extensions.code) || 'UNKNOWN'));
        } else if (msg.payload && msg.payload.data) {
          entry.sink.next?.(msg.payload.data);
        }
        break;
      case 'error':
        if (!entry) break;
        this.active.delete(msg.id);
        {
          const e = Array.isArray(msg.payload) ? msg.payload[0] : msg.payload;
          entry.sink.error?.(new ApiError((e && e.message) || 'subscription refused', (e && e.extensions && e.extensions.code) || 'UNKNOWN'));
        }
        break;
      case 'complete':
        if (!entry) break;
        this.active.delete(msg.id);
        entry.sink.complete?.();
        this.scheduleClose();
        break;
      default:
        break;
    }
  }

  onClose(socket) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.acked = false;
    if (this.active.size === 0) return;
    this.retries += 1;
    for (const sub of this.active.values()) sub.sink.status?.('reconnecting');
    const delay = Math.min(30000, 500 * 2 ** Math.min(this.retries, 6));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  scheduleClose() {
    clearTimeout(this.closeTimer);
    if (this.active.size > 0) return;
    this.closeTimer = setTimeout(() => {
      if (this.active.size === 0 && this.socket) {
        const s = this.socket;
        this.socket = null;
        this.acked = false;
        s.close(1000, 'idle');
      }
    }, 5000);
  }
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
export const subscriptions = new SubscriptionClient(wsUrl);
