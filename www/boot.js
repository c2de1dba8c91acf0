// SPDX-License-Identifier: MIT
// The routes of the web UI and their first API requests.  index.html loads
// this small module on its own (async, no imports), so that it runs as soon
// as it arrives: the data of the page being opened is requested while the
// rest of the code is still loading and compiling.  app.js routes with the
// same table; api.js's get() takes the early answers (one-shot).

export const ROUTES = [
  { re: /^\/login$/, view: 'login', bare: true, title: 'Sign in' },
  { re: /^\/setup$/, view: 'setup', bare: true, title: 'Setup' },
  { re: /^\/(dashboard)?$/, view: 'dashboard', title: 'Dashboard', data: () => ['/api/networks', '/api/status'] },
  { re: /^\/networks$/, view: 'networks', title: 'Networks' },
  { re: /^\/networks\/(\d+)$/, view: 'network', keys: ['id'], title: 'Network',
    data: (p) => [`/api/networks/${p.id}`, `/api/networks/${p.id}/peers`] },
  { re: /^\/networks\/(\d+)\/peers\/(\d+)$/, view: 'peer', keys: ['id', 'pid'], title: 'Peer' },
  { re: /^\/bridges$/, view: 'bridges', title: 'Bridges' },
  { re: /^\/settings$/, view: 'settings', title: 'Settings' },
  { re: /^\/settings\/tls$/, view: 'tls', title: 'TLS' },
  { re: /^\/settings\/alerts$/, view: 'alerts', title: 'Alerts' },
  { re: /^\/settings\/users$/, view: 'users', title: 'Users' },
  { re: /^\/settings\/api-keys$/, view: 'apikeys', title: 'API keys' },
  { re: /^\/settings\/system$/, view: 'system', title: 'System' },
  { re: /^\/settings\/account$/, view: 'account', title: 'Account' },
  { re: /^\/audit-log$/, view: 'audit', title: 'Audit log' },
];

/** {route, params} of path, or null. */
export function matchRoute(path) {
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      (r.keys || []).forEach((k, i) => { params[k] = m[i + 1]; });
      return { route: r, params };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// early requests: path → {promise of the fetch Response, at}

const early = new Map();
const EARLY_MS = 5000;

/** Starts GET path (JSON, as api.js would send it) for a get() that follows soon. */
export function prefetch(path) {
  const e = early.get(path);
  if (e && Date.now() - e.at < EARLY_MS) return;
  const promise = fetch(path, {
    headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
  });
  promise.catch(() => {}); // whoever takes it sees the failure; unused: dropped
  early.set(path, { promise, at: Date.now() });
}

/** The Response promise of a fresh prefetch of path (taken: one use), or null. */
export function takePrefetched(path) {
  const e = early.get(path);
  if (!e) return null;
  early.delete(path);
  return Date.now() - e.at < EARLY_MS ? e.promise : null;
}

/** Forgets every prefetch no view took. */
export function dropPrefetched() {
  early.clear();
}

/** Starts the data of the route at path (app.js, on each navigation). */
export function prefetchRoute(m) {
  if (m && m.route.data) for (const p of m.route.data(m.params)) prefetch(p);
}

// The page being opened: its data is requested right now, together with
// the guard's two questions (preloaded by index.html).  Without a session
// these answer 401 and are dropped; the guard sends the visitor to /login.
prefetchRoute(matchRoute(location.pathname.replace(/\/+$/, '') || '/'));
