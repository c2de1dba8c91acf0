// SPDX-License-Identifier: MIT
// fetch wrapper for the wgpilot API (api.md).  The session lives in an
// HttpOnly cookie: credentials 'same-origin', never a token in storage.
// Every failure becomes an ApiError whose message is a readable sentence.

import { takePrefetched } from './boot.js';

const FRIENDLY = {
  UNAUTHORIZED: 'Please sign in to continue.',
  SESSION_EXPIRED: 'Your session has expired. Please sign in again.',
  INVALID_CREDENTIALS: 'Wrong username or password.',
  INVALID_OTP: 'The one-time setup password is not correct.',
  FORBIDDEN: 'You are not allowed to do this (your account is read-only or the request was refused).',
  SETUP_REQUIRED: 'The first-run setup has not been completed yet.',
  SETUP_ALREADY_COMPLETE: 'Setup has already been completed.',
  STEP_ORDER_VIOLATION: 'An earlier setup step has not been completed yet.',
  SUBNET_CONFLICT: 'This subnet overlaps the subnet of another network.',
  PORT_IN_USE: 'This UDP port is already used by another network.',
  IP_POOL_EXHAUSTED: 'The network has no free addresses left for another peer.',
  PEER_ALREADY_EXISTS: 'A peer with this public key already exists in the network.',
  BRIDGE_ALREADY_EXISTS: 'These two networks are already bridged.',
  BRIDGE_SELF_REFERENCE: 'A network cannot be bridged with itself.',
  PEER_CONFIG_UNAVAILABLE: 'This peer was imported without its private key, so its configuration cannot be shown.',
  RECONCILER_UNAVAILABLE: 'The WireGuard service (reconciler) is not answering. Try again in a moment.',
  WG_MODULE_NOT_LOADED: 'WireGuard is not available on the server.',
  CAPABILITY_MISSING: 'The server lacks the permission to configure network interfaces.',
  NFTABLES_UNAVAILABLE: 'The server cannot program its firewall (nftables).',
  INTERFACE_CREATE_FAILED: 'The server could not create the WireGuard interface.',
  INTERFACE_UP_FAILED: 'The server could not bring the WireGuard interface up.',
  WG_PEER_ADD_FAILED: 'The server could not add the peer to WireGuard.',
  DATABASE_CORRUPTED: 'The server database is damaged.',
  METHOD_NOT_ALLOWED: 'The server does not accept this request.',
};

export class ApiError extends Error {
  constructor({ status, code, message, fields, requestId, retryAfter, path, method }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields || [];
    this.requestId = requestId || '';
    this.retryAfter = retryAfter;
    this.path = path;
    this.method = method;
  }

  /** The endpoint is not there (yet): 404 NOT_FOUND for an unknown route, or 501. */
  get missing() {
    return (this.status === 404 && this.code === 'NOT_FOUND') || this.status === 501;
  }
}

let authHandler = null;

/** app.js registers what happens on 401 (→ /login) and SETUP_REQUIRED (→ /setup). */
export function onAuthProblem(fn) {
  authHandler = fn;
}

function describe(status, code, serverMessage, retryAfter, path, method) {
  if (code === 'RATE_LIMITED') {
    const s = retryAfter || 60;
    return `Too many attempts. Please wait ${s} seconds before trying again.`;
  }
  if (code === 'VALIDATION_ERROR' && status === 413) {
    return 'The upload is too large for the server.';
  }
  if (code === 'VALIDATION_ERROR' && (!serverMessage || serverMessage === 'validation failed')) {
    return 'Some values are not valid.';
  }
  if ((status === 404 && code === 'NOT_FOUND') || status === 501) {
    return `This server does not offer this function yet (${method} ${path.split('?')[0]} answered ${status} ${code || ''}).`.replace(' )', ')');
  }
  const friendly = FRIENDLY[code];
  if (friendly && serverMessage && !friendly.toLowerCase().includes(serverMessage.toLowerCase())) {
    // The server's message carries specifics (which network, which port).
    return `${friendly} (${serverMessage})`;
  }
  if (friendly) return friendly;
  if (serverMessage) {
    return serverMessage.charAt(0).toUpperCase() + serverMessage.slice(1) + (/[.!?]$/.test(serverMessage) ? '' : '.');
  }
  return `The server answered ${status}${code ? ` ${code}` : ''}.`;
}

/**
 * request(method, path, {body, raw, as, signal, noAuthRedirect})
 *   body  object → JSON; raw → sent as is (Blob, ArrayBuffer, File)
 *   as    'json' (default) | 'text' | 'blob' | 'response'
 * Resolves with the parsed body (null for 204); rejects with ApiError.
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.as === 'json' || !opts.as ? 'application/json' : '*/*' };
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  const init = { method, headers, body, credentials: 'same-origin', cache: 'no-store', signal: opts.signal };
  try {
    try {
      res = await fetch(path, init);
    } catch (e) {
      // A network change (Wi-Fi switch, a VPN coming up) aborts requests in
      // flight; reads are safe to send once more.
      if ((e && e.name === 'AbortError') || method !== 'GET') throw e;
      await new Promise((r) => setTimeout(r, 400));
      res = await fetch(path, init);
    }
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError({
      status: 0, code: 'NETWORK_ERROR', path, method,
      message: 'Could not reach the wgpilot server. Check your connection and try again.',
    });
  }
  return answer(res, method, path, opts);
}

/** The parsed body of res, or its ApiError (reported to app.js on 401). */
async function answer(res, method, path, opts) {
  if (res.ok) {
    if (opts.as === 'response') return res;
    if (res.status === 204) return null;
    if (opts.as === 'text') return res.text();
    if (opts.as === 'blob') return res.blob();
    const text = await res.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError({ status: res.status, code: 'BAD_RESPONSE', path, method,
        message: 'The server sent an answer that could not be read.' });
    }
  }

  let info = {};
  try {
    const j = await res.json();
    if (j && typeof j === 'object' && j.error && typeof j.error === 'object') info = j.error;
  } catch {
    info = {};
  }
  const retryAfter = Number(res.headers.get('Retry-After')) || undefined;
  const code = typeof info.code === 'string' ? info.code : '';
  const err = new ApiError({
    status: res.status,
    code: code || (res.status >= 500 ? 'INTERNAL_ERROR' : `HTTP_${res.status}`),
    message: describe(res.status, code, typeof info.message === 'string' ? info.message : res.statusText,
      retryAfter, path, method),
    fields: Array.isArray(info.fields) ? info.fields.filter((f) => f && typeof f.field === 'string') : [],
    requestId: info.request_id || res.headers.get('X-Request-ID') || '',
    retryAfter,
    path,
    method,
  });
  if (!opts.noAuthRedirect && authHandler &&
      (res.status === 401 || (res.status === 403 && code === 'SETUP_REQUIRED'))) {
    authHandler(err);
  }
  throw err;
}

/**
 * GET; a JSON GET takes the answer of boot.js's prefetch(path) when one is
 * waiting, so a view's first request is often on its way or answered.
 */
export const get = (path, opts = {}) => fromPrefetch(path, opts) || request('GET', path, opts);

function fromPrefetch(path, opts) {
  if (opts.as && opts.as !== 'json') return null;
  const early = takePrefetched(path);
  if (!early) return null;
  const p = early.then((res) => answer(res, 'GET', path, { ...opts, noAuthRedirect: true }),
    () => request('GET', path, opts)) // a network error: the normal way, with its retry
    .catch((err) => {
      // the session was lost: ask again the normal way, so that app.js's
      // 401 / SETUP_REQUIRED handling runs
      if (!opts.noAuthRedirect && (err.status === 401 || (err.status === 403 && err.code === 'SETUP_REQUIRED'))) {
        return request('GET', path, opts);
      }
      throw err;
    });
  return opts.signal ? abortable(p, opts.signal) : p;
}

/** p, or an AbortError as soon as signal aborts (as fetch would). */
function abortable(p, signal) {
  const aborted = () => new DOMException('The view was left.', 'AbortError');
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const put = (path, body, opts = {}) => request('PUT', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

/** The file name of a Content-Disposition header, else fallback. */
export function filenameOf(res, fallback) {
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  if (!m) return fallback;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

// A tiny shared cache of the network list (sidebar, dashboard, forms).
let networksPromise = null;
let networksAt = 0;
let networksSig = '';

/**
 * GET /api/networks, shared for 3 s; a changed list tells the sidebar.
 * force: true asks the server again; a number (ms) takes a request started
 * at most that long ago (a view's first load shares the sidebar's request).
 */
export function networks(force = false) {
  const maxAge = force === true ? -1 : typeof force === 'number' ? force : 3000;
  if (!networksPromise || Date.now() - networksAt > maxAge) {
    networksAt = Date.now();
    networksPromise = get('/api/networks').then((list) => {
      const sig = JSON.stringify(list.map((n) => [n.id, n.name, n.enabled]));
      if (networksSig && sig !== networksSig) {
        queueMicrotask(() => document.dispatchEvent(new CustomEvent('wgp:networks-changed')));
      }
      networksSig = sig;
      return list;
    }, (e) => {
      networksPromise = null;
      throw e;
    });
  }
  return networksPromise;
}

export function networksChanged() {
  networksPromise = null;
  document.dispatchEvent(new CustomEvent('wgp:networks-changed'));
}
