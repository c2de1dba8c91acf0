// SPDX-License-Identifier: MIT
// / — stats cards, live status per network (SSE, else polling), 24 h
// transfer chart.  Live events update text nodes in place.

import { get, networks } from '../api.js';
import { h, mount, pageHeader, notice, statusDot, setDot, setText, fmtBytes, fmtAgo, fmtNumber, badge, card, skeleton } from '../ui.js';
import { watchNetworks, mergeStatus, liveBadge } from '../live.js';
import { transferChart } from '../chart.js';
import { isViewer } from '../app.js';

const MINI = 6;

export default async function dashboard(ctx) {
  const [nets, status] = await Promise.all([networks(1000), get('/api/status', { signal: ctx.signal })]);
  const statusById = new Map((status.networks || []).map((n) => [n.id, n]));

  // model: per network the status peers keyed by peer id
  const model = nets.map((n) => {
    const st = statusById.get(n.id);
    const peers = new Map();
    for (const p of (st && st.peers) || []) {
      if (!p.peer_id) continue; // kernel peers unknown to the database
      peers.set(p.peer_id, { id: p.peer_id, name: p.name, online: !!p.online, last_handshake: p.last_handshake,
        transfer_rx: p.transfer_rx, transfer_tx: p.transfer_tx });
    }
    return { net: n, up: st ? !!st.up : false, peers, rows: new Map(), els: {} };
  });

  // --- cards
  const cardEl = (label, id) => {
    const value = h('div', { class: 'stat-value', dataset: { stat: id } }, '–');
    const sub = h('div', { class: 'stat-sub' }, ' ');
    return { el: h('div', { class: 'stat', role: 'group', 'aria-label': label }, h('div', { class: 'stat-label' }, label), value, sub), value, sub };
  };
  const cNets = cardEl('Networks', 'networks');
  const cPeers = cardEl('Peers', 'peers');
  const cOnline = cardEl('Online peers', 'online');
  const cTransfer = cardEl('Total transfer', 'transfer');

  function updateCards() {
    const up = model.filter((m) => m.up).length;
    const disabled = model.filter((m) => !m.net.enabled).length;
    setText(cNets.value, fmtNumber(model.length));
    setText(cNets.sub, model.length ? `${up} up${disabled ? ` · ${disabled} disabled` : ''}` : 'none yet');
    const total = model.reduce((a, m) => a + (m.net.peer_count || 0), 0);
    setText(cPeers.value, fmtNumber(total));
    setText(cPeers.sub, `in ${model.length} network${model.length === 1 ? '' : 's'}`);
    let online = 0;
    let rx = 0;
    let tx = 0;
    for (const m of model) {
      for (const p of m.peers.values()) {
        if (p.online) online += 1;
        rx += p.transfer_rx || 0;
        tx += p.transfer_tx || 0;
      }
    }
    setText(cOnline.value, fmtNumber(online));
    setText(cOnline.sub, `of ${fmtNumber(total)} peer${total === 1 ? '' : 's'}`);
    setText(cTransfer.value, fmtBytes(rx + tx));
    setText(cTransfer.sub, `↓ ${fmtBytes(rx)} in · ↑ ${fmtBytes(tx)} out`);
  }

  // --- per-network live panels
  function peerRow(p, netId) {
    const dot = statusDot(p.online);
    const meta = h('span', { class: 'meta' });
    const row = h('li', { dataset: { peerId: p.id, online: String(p.online) } }, dot,
      h('a', { href: `/networks/${netId}/peers/${p.id}`, class: 'ellipsis' }, p.name || `peer ${p.id}`), meta);
    row.update = (q) => {
      setDot(dot, q.online);
      row.dataset.online = String(!!q.online);
      setText(meta, q.online ? `${fmtAgo(q.last_handshake)} · ${fmtBytes((q.transfer_rx || 0) + (q.transfer_tx || 0))}`
        : q.last_handshake ? `seen ${fmtAgo(q.last_handshake)}` : 'offline');
    };
    row.update(p);
    return row;
  }

  function netPanel(m) {
    const n = m.net;
    const live = h('span', { class: 'live' }, 'Connecting…');
    const sum = h('div', { class: 'net-live-sum' });
    const list = h('ul', { class: 'peer-mini', 'aria-label': `Peers of ${n.name}` });
    const sorted = [...m.peers.values()].sort((a, b) => (b.online - a.online) || String(a.name).localeCompare(String(b.name)));
    for (const p of sorted.slice(0, MINI)) {
      const r = peerRow(p, n.id);
      m.rows.set(p.id, r);
      list.appendChild(r);
    }
    const more = (n.peer_count || 0) - m.rows.size;
    m.els = { sum, live, setMode: liveBadge(live) };
    const stateBadge = !n.enabled ? badge('disabled') : m.up ? badge('up', 'ok') : badge('down', 'err');
    return h('section', { class: 'panel', dataset: { networkId: n.id } },
      h('div', { class: 'net-live-head' }, statusDot(n.enabled && m.up, n.enabled ? (m.up ? 'up' : 'down') : 'disabled'),
        h('a', { href: `/networks/${n.id}` }, n.name), badge(n.interface), stateBadge, h('span', { class: 'spacer' }), n.enabled ? live : null),
      sum,
      m.peers.size ? list : h('p', { class: 'muted small' }, n.enabled
        ? (n.peer_count ? 'No peer of this network is active in WireGuard.' : 'No peers yet.')
        : 'This network is disabled.'),
      more > 0 ? h('a', { class: 'more-link', href: `/networks/${n.id}` }, `All ${fmtNumber(n.peer_count)} peers →`) : null);
  }

  function updateNet(m) {
    let online = 0;
    let rx = 0;
    let tx = 0;
    for (const p of m.peers.values()) {
      if (p.online) online += 1;
      rx += p.transfer_rx || 0;
      tx += p.transfer_tx || 0;
    }
    setText(m.els.sum, `${fmtNumber(online)} of ${fmtNumber(m.net.peer_count || 0)} online · ↓ ${fmtBytes(rx)} · ↑ ${fmtBytes(tx)}`);
  }

  const cards = h('div', { class: 'cards' }, cNets.el, cPeers.el, cOnline.el, cTransfer.el);
  const livePanels = h('div', { class: 'net-live' }, model.map(netPanel));
  const chartBody = h('div', { class: 'chart-slot' }, skeleton(4));
  const chartPanel = card('Transfer, last 24 hours', chartBody);

  mount(ctx.el,
    pageHeader('Dashboard', 'Live state of your WireGuard networks.',
      isViewer() ? null : h('a', { class: 'btn btn-primary', href: '/networks?new=1' }, 'New network')),
    cards,
    model.length ? livePanels : notice('empty', 'No networks yet', 'Create a network to start adding peers.'),
    model.length ? chartPanel : null);
  updateCards();
  for (const m of model) updateNet(m);

  // --- live updates
  const byId = new Map(model.map((m) => [m.net.id, m]));
  const liveIds = model.filter((m) => m.net.enabled).map((m) => m.net.id);
  watchNetworks(ctx, liveIds, {
    onStatus(id, peers, net) {
      const m = byId.get(id);
      if (!m) return;
      if (net) m.up = !!net.up;
      // peers that appeared since the page loaded (new or re-enabled)
      for (const s of peers) {
        if (s.peer_id && !m.peers.has(s.peer_id)) {
          m.peers.set(s.peer_id, { id: s.peer_id, name: s.name || `peer ${s.peer_id}`, online: false, last_handshake: 0, transfer_rx: 0, transfer_tx: 0 });
        }
      }
      const changed = mergeStatus(m.peers, peers);
      for (const p of changed) {
        const row = m.rows.get(p.id);
        if (row) row.update(p);
      }
      updateNet(m);
      updateCards();
    },
    onMode(id, mode, msg) {
      const m = byId.get(id);
      if (m) m.els.setMode(mode, msg);
    },
  });
  // relative times ("12 s ago") age without new data
  const ager = setInterval(() => {
    for (const m of model) for (const [id, row] of m.rows) row.update(m.peers.get(id));
  }, 10000);
  ctx.onDispose(() => clearInterval(ager));

  // --- chart after the first paint; not part of the critical path
  if (model.length) {
    setTimeout(() => loadChart(ctx, model.map((m) => m.net), chartBody), 50);
  }
}

async function loadChart(ctx, nets, body) {
  const to = Math.floor(Date.now() / 1000);
  const from = to - 86400;
  const results = await Promise.allSettled(nets.slice(0, 20).map((n) =>
    get(`/api/networks/${n.id}/stats?from=${from}&to=${to}`, { signal: ctx.signal })));
  if (ctx.signal.aborted) return;
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.find((r) => r.status === 'rejected');
  if (!ok.length && failed) {
    const e = failed.reason;
    mount(body, notice(e && e.missing ? 'warn' : 'error', e && e.missing ? 'Transfer history is not available on this server yet.' : 'Transfer history could not be loaded.', e ? e.message : ''));
    return;
  }
  const chart = transferChart({ series: ok, from, to, buckets: 48, label: 'Transfer in the last 24 hours' });
  ctx.onDispose(() => chart.disconnect && chart.disconnect());
  mount(body, chart);
}
