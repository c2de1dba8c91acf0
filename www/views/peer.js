// SPDX-License-Identifier: MIT
// /networks/:id/peers/:pid — peer detail, live state, config modal, and a
// transfer chart of this peer from /api/networks/{id}/stats.

import { get } from '../api.js';
import {
  h, mount, notice, button, badge, statusDot, setDot, setText, fmtBytes, fmtAgo, fmtDate, fmtIn,
  toast, details, card, skeleton, copyText,
} from '../ui.js';
import { openPeerDialog, modeLabel } from './forms.js';
import { openConfigModal } from './peerconfig.js';
import { setPeerEnabled, deletePeer } from './network.js';
import { act } from './networks.js';
import { watchNetworks, mergeStatus, liveBadge } from '../live.js';
import { transferChart } from '../chart.js';
import { isViewer } from '../app.js';

const RANGES = [['24h', 'Last 24 hours', 86400, 48], ['7d', 'Last 7 days', 7 * 86400, 56], ['30d', 'Last 30 days', 30 * 86400, 60]];

export default async function peerView(ctx) {
  const id = Number(ctx.params.id);
  const pid = Number(ctx.params.pid);
  const ro = isViewer();
  const [net, peer] = await Promise.all([
    get(`/api/networks/${id}`, { signal: ctx.signal }),
    get(`/api/networks/${id}/peers/${pid}`, { signal: ctx.signal }),
  ]);
  ctx.setTitle(`${peer.name} · ${net.name}`);

  const title = h('span', null, peer.name);
  const dot = statusDot(false);
  const stateText = h('span', { class: 'muted' });
  const enableBtn = button('', () => act(async () => {
    const s = await setPeerEnabled(id, peer, !peer.enabled);
    Object.assign(peer, s);
    toast(`Peer “${peer.name}” ${peer.enabled ? 'enabled' : 'disabled'}.`);
    draw();
  }));

  const head = h('div', { class: 'page-head' },
    h('div', { class: 'page-title' },
      h('div', { class: 'crumbs' }, h('a', { href: '/networks' }, 'Networks'), ' / ', h('a', { href: `/networks/${id}` }, net.name), ' / '),
      h('h1', { id: 'page-title', tabindex: '-1' }, title),
      h('p', { class: 'state-line' }, dot, stateText)),
    ro ? null : h('div', { class: 'page-actions' },
      button('Show config & QR', () => openConfigModal({ peer, networkId: id }), { kind: 'primary', dataset: { action: 'config' } }),
      button('Edit', () => openPeerDialog(net, peer, { onSaved: (s) => { Object.assign(peer, s); draw(); } })),
      enableBtn,
      button('Delete', () => act(async () => {
        if (await deletePeer(id, peer)) ctx.navigate(`/networks/${id}`);
      }), { kind: 'ghost', class: 'danger-text' })));

  const liveEl = h('span', { class: 'live' }, 'Connecting…');
  const setMode = liveBadge(liveEl);
  const liveBox = h('div');
  const cfgBox = h('div');

  function draw() {
    setText(title, peer.name);
    const online = peer.enabled && peer.online;
    setDot(dot, online, !peer.enabled ? 'disabled' : online ? 'online' : 'offline');
    setText(stateText, !peer.enabled ? 'Disabled — the device cannot connect.'
      : online ? `Online · last handshake ${fmtAgo(peer.last_handshake)}`
        : peer.last_handshake ? `Offline · last seen ${fmtAgo(peer.last_handshake)}` : 'Offline · never connected');
    setText(enableBtn, peer.enabled ? 'Disable' : 'Enable');
    mount(liveBox, details([
      ['Status', !peer.enabled ? badge('disabled') : online ? badge('online', 'ok') : badge('offline')],
      ['Address', h('code', null, peer.allowed_ips)],
      ['Endpoint', peer.endpoint || '—'],
      ['Last handshake', peer.last_handshake ? `${fmtAgo(peer.last_handshake)} (${fmtDate(peer.last_handshake)})` : 'never'],
      ['Received', fmtBytes(peer.transfer_rx)],
      ['Sent', fmtBytes(peer.transfer_tx)],
    ]));
    const keyCopy = button('Copy', async () => {
      toast((await copyText(peer.public_key)) ? 'Public key copied.' : 'Copying is not allowed here.', 'info');
    }, { small: true, kind: 'link' });
    mount(cfgBox, details([
      ['Public key', h('span', null, h('code', { class: 'break' }, peer.public_key), ' ', keyCopy)],
      ['E-mail', peer.email || '—'],
      ['Role', peer.role === 'site-gateway' ? 'Site gateway' : 'Client'],
      ...(peer.role === 'site-gateway' ? [['Site networks', peer.site_networks || '—']] : []),
      ['Tunnel', peer.tunnel_type === 'split' ? `Split${peer.split_cidrs ? ` (+ ${peer.split_cidrs})` : ''}` : 'Full (all traffic)'],
      ['Keepalive', peer.persistent_keepalive ? `${peer.persistent_keepalive} s` : 'off'],
      ['Expires', peer.expires_at ? `${fmtDate(peer.expires_at)} (${fmtIn(peer.expires_at)})` : 'never'],
      ['Network', h('a', { href: `/networks/${id}` }, `${net.name} (${modeLabel(net.mode)})`)],
      ['Created', fmtDate(peer.created_at)],
      ['Updated', fmtDate(peer.updated_at)],
    ]));
  }

  // chart with a range selector
  const rangeSel = h('select', { 'aria-label': 'Period' }, RANGES.map(([v, l]) => h('option', { value: v }, l)));
  const chartBody = h('div', { class: 'chart-slot' }, skeleton(4));
  let chart = null;
  async function loadChart() {
    const [, label, span, buckets] = RANGES.find(([v]) => v === rangeSel.value);
    const to = Math.floor(Date.now() / 1000);
    const from = to - span;
    try {
      const data = await get(`/api/networks/${id}/stats?peer_id=${pid}&from=${from}&to=${to}`, { signal: ctx.signal });
      if (chart && chart.disconnect) chart.disconnect();
      chart = transferChart({ series: [data], from, to, buckets, label: `Transfer of ${peer.name}, ${label.toLowerCase()}` });
      mount(chartBody, chart);
    } catch (e) {
      if (e.name === 'AbortError') return;
      mount(chartBody, notice(e.missing ? 'warn' : 'error',
        e.missing ? 'Transfer history is not available on this server yet.' : 'Transfer history could not be loaded.', e.message));
    }
  }
  rangeSel.addEventListener('change', loadChart);
  ctx.onDispose(() => chart && chart.disconnect && chart.disconnect());

  mount(ctx.el, head,
    peer.private_key === '' ? notice('info', null, 'This peer was imported; its configuration cannot be downloaded.') : null,
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel' }, h('div', { class: 'panel-title' }, h('h2', null, 'Connection'), h('span', { class: 'spacer' }), liveEl), liveBox),
      card('Settings', cfgBox)),
    h('section', { class: 'panel' }, h('div', { class: 'panel-title' }, h('h2', null, 'Transfer'), h('span', { class: 'spacer' }), rangeSel), chartBody));
  draw();
  loadChart();

  if (net.enabled) {
    const byId = new Map([[peer.id, peer]]);
    watchNetworks(ctx, [id], {
      onStatus(_id, list) {
        if (!peer.enabled) return;
        if (mergeStatus(byId, list).length) draw();
      },
      onMode: (_id, mode, msg) => setMode(mode, msg),
    });
  } else {
    setText(liveEl, 'network disabled');
  }
  const ager = setInterval(() => draw(), 15000);
  ctx.onDispose(() => clearInterval(ager));
}
