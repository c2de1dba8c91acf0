// SPDX-License-Identifier: MIT
// Live peer status: the SSE stream of each network (api.md §8), or — when a
// stream is not available — GET /api/status every 5 seconds.

import { get } from './api.js';

const POLL_MS = 5000;

/**
 * watchNetworks(ctx, ids, {onStatus(id, peers, net|null), onMode(id, 'live'|'polling'|'error', message)})
 * peers: [{peer_id, online, last_handshake, transfer_rx, transfer_tx, …}]
 * Everything stops when the view is disposed.
 */
export function watchNetworks(ctx, ids, { onStatus, onMode }) {
  const polling = new Set();
  const sources = new Map();
  let timer = 0;
  let stopped = false;

  async function poll() {
    timer = 0;
    if (stopped || !polling.size) return;
    try {
      const st = await get('/api/status', { signal: ctx.signal });
      if (stopped) return;
      const byId = new Map((st.networks || []).map((n) => [n.id, n]));
      for (const id of polling) {
        const n = byId.get(id);
        onStatus(id, n ? n.peers || [] : [], n || null);
        onMode(id, 'polling');
      }
    } catch (e) {
      if (stopped || (e && e.name === 'AbortError')) return;
      for (const id of polling) onMode(id, 'error', e.message);
    }
    if (!stopped && polling.size) timer = setTimeout(poll, POLL_MS);
  }

  function fallBack(id) {
    const es = sources.get(id);
    if (es) {
      es.close();
      sources.delete(id);
    }
    if (polling.has(id)) return;
    polling.add(id);
    onMode(id, 'polling');
    if (!timer) timer = setTimeout(poll, 0);
  }

  for (const id of ids) {
    if (typeof EventSource !== 'function') {
      fallBack(id);
      continue;
    }
    const es = new EventSource(`/api/networks/${id}/events`);
    let failures = 0;
    sources.set(id, es);
    es.addEventListener('open', () => {
      failures = 0;
    });
    es.addEventListener('status', (ev) => {
      let peers;
      try {
        peers = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!Array.isArray(peers)) return;
      onMode(id, 'live');
      onStatus(id, peers, null);
    });
    es.addEventListener('error', () => {
      // CLOSED: the server refused the stream (404, 401, wrong type);
      // CONNECTING: the browser retries; give up after a few attempts.
      failures += 1;
      if (es.readyState === EventSource.CLOSED || failures >= 3) fallBack(id);
    });
  }

  ctx.onDispose(() => {
    stopped = true;
    clearTimeout(timer);
    for (const es of sources.values()) es.close();
    sources.clear();
  });
}

/**
 * Merges a status list into peers (objects with id, online, transfer_*, …).
 * Peers missing from the list are not in the kernel (disabled, or their
 * network is down): offline with zero live counters, as the API reports them.
 * Returns the peers whose live fields changed.
 */
export function mergeStatus(peersById, list) {
  const seen = new Set();
  const changed = [];
  for (const s of list) {
    const p = peersById.get(s.peer_id);
    if (!p) continue;
    seen.add(s.peer_id);
    if (p.online !== !!s.online || p.last_handshake !== s.last_handshake ||
        p.transfer_rx !== s.transfer_rx || p.transfer_tx !== s.transfer_tx ||
        (s.endpoint !== undefined && p.endpoint !== s.endpoint)) {
      p.online = !!s.online;
      p.last_handshake = s.last_handshake || 0;
      p.transfer_rx = s.transfer_rx || 0;
      p.transfer_tx = s.transfer_tx || 0;
      if (s.endpoint !== undefined && s.endpoint !== '') p.endpoint = s.endpoint;
      changed.push(p);
    }
  }
  for (const p of peersById.values()) {
    if (seen.has(p.id)) continue;
    if (p.online || p.transfer_rx || p.transfer_tx || p.last_handshake) {
      p.online = false;
      p.last_handshake = 0;
      p.transfer_rx = 0;
      p.transfer_tx = 0;
      changed.push(p);
    }
  }
  return changed;
}

/** A small "live" / "polling" indicator element with update(mode). */
export function liveBadge(el) {
  return (mode, message) => {
    el.classList.toggle('is-live', mode === 'live' || mode === 'polling');
    const text = mode === 'live' ? 'Live' : mode === 'polling' ? 'Updating every 5 s'
      : mode === 'error' ? `Updates paused: ${message || 'no answer'}` : 'Connecting…';
    if (el.textContent !== text) el.textContent = text;
    el.title = mode === 'live' ? 'Live updates from the server (event stream)'
      : mode === 'polling' ? 'The event stream is not available; polling /api/status' : '';
  };
}
