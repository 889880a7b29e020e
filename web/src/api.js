// The dashboard's HTTP API (served by the coordinator beside its gRPC endpoint), at paths relative to the page, so
// the page also works behind a proxy that serves it under a prefix. Every call but /api/config carries
// the bearer token when one is configured: as a header for fetch, as ?token= for EventSource and file links (neither
// can set headers). The token lives in sessionStorage only, never in the address bar.

const TOKEN_KEY = 'mmcluster.dashboard.token';

/** Thrown when the server refuses the token (401); the page then asks for it again. */
export class Unauthorized extends Error {}

export const auth = {
  required: false,
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  /** Takes ?token= from the page's URL into sessionStorage and strips it from the address bar. */
  adoptFromUrl() {
    const url = new URL(window.location.href);
    const t = url.searchParams.get('token');
    if (t === null) return;
    if (t) this.token = t;
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  },
  get missing() {
    return this.required && !this.token;
  },
};

/** Adds ?token= to a same-origin URL when a token is in use. */
export function withToken(path) {
  if (!auth.required || !auth.token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(auth.token)}`;
}

export async function getJson(path) {
  const headers = { Accept: 'application/json' };
  if (auth.required) {
    if (!auth.token) throw new Unauthorized('no token');
    headers.Authorization = `Bearer ${auth.token}`;
  }
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized(`${path}: 401`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

export async function getConfig() {
  const res = await fetch('api/config', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/api/config: HTTP ${res.status}`);
  return res.json();
}

/**
 * Opens the server-sent event stream from history position `since` (null: from now). Calls onSnapshot / onPoints with
 * each event's JSON, onState with 'live' | 'reconnecting'; when the browser gives up on the stream (it closed or was
 * refused) calls onClosed once. The browser's own reconnects resume from the last "points" event's id (Last-Event-ID).
 */
export function openStream(since, { onSnapshot, onPoints, onState, onClosed }) {
  const es = new EventSource(withToken(since === null ? 'api/stream' : `api/stream?since=${since}`));
  es.addEventListener('open', () => onState('live'));
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  es.addEventListener('points', (e) => onPoints(JSON.parse(e.data)));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      onClosed();
    } else {
      onState('reconnecting');
    }
  });
  return es;
}
