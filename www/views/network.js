// SPDX-License-Identifier: MIT
// /networks/:id — network detail, the peer table (search, sort, pages;
// only the visible page is in the DOM, live events update rows in place),
// bridges of the network, export.

import { get, post, del, networksChanged } from '../api.js';
import {
  h, mount, notice, button, badge, statusDot, setDot, setText, fmtBytes, fmtAgo, fmtNumber, fmtDate,
  toast, confirmDialog, details, card, debounce, copyText, clear,
} from '../ui.js';
import { openNetworkDialog, openPeerDialog, modeLabel } from './forms.js';
import { openConfigModal } from './peerconfig.js';
import { setNetworkEnabled, deleteNetwork, exportNetwork, act } from './networks.js';
import { watchNetworks, mergeStatus, liveBadge } from '../live.js';
import { isViewer } from '../app.js';

const PAGE_SIZES = [25, 50, 100];

function ipKey(p) {
  const ip = String(p.allowed_ips || '').split(/[/,]/)[0];
  const parts = ip.split('.').map(Number);
  return parts.length === 4 ? ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3] : 0;
}

const SORTS = {
  status: (p) => (p.enabled ? (p.online ? 2 : 1) : 0),
  name: (p) => String(p.name).toLowerCase(),
  ip: ipKey,
  transfer: (p) => (p.transfer_rx || 0) + (p.transfer_tx || 0),
  handshake: (p) => p.last_handshake || 0,
  keepalive: (p) => p.persistent_keepalive || 0,
};

export async function setPeerEnabled(networkId, p, enabled) {
  return post(`/api/networks/${networkId}/peers/${p.id}/${enabled ? 'enable' : 'disable'}`);
}

export async function deletePeer(networkId, p) {
  const ok = await confirmDialog({
    title: `Delete ${p.name}?`,
    message: `The peer’s keys and history are removed and its address ${String(p.allowed_ips).split(',')[0]} is freed. Its device can no longer connect. To block it only for a while, disable it instead.`,
    confirmLabel: 'Delete peer',
    danger: true,
  });
  if (!ok) return false;
  await del(`/api/networks/${networkId}/peers/${p.id}`);
  networksChanged();
  toast(`Peer “${p.name}” deleted.`);
  return true;
}

export default async function networkView(ctx) {
  const id = Number(ctx.params.id);
  const ro = isViewer();
  const [net0, list] = await Promise.all([
    get(`/api/networks/${id}`, { signal: ctx.signal }),
    get(`/api/networks/${id}/peers`, { signal: ctx.signal }),
  ]);
  let net = net0;
  ctx.setTitle(net.name);

  // ---- model
  const peers = list;
  const byId = new Map(peers.map((p) => [p.id, p]));
  const rows = new Map();
  const state = {
    q: '', filter: ctx.query.get('filter') || 'all', sort: 'name', dir: 1,
    page: 0, size: Number(ctx.query.get('size')) || (matchMedia('(max-width: 700px)').matches ? 25 : 50),
  };
  if (!PAGE_SIZES.includes(state.size)) state.size = 50;
  let view = [];

  // ---- header
  const headTitle = h('span', null, net.name);
  const subtitle = h('p', { class: 'muted' });
  const enableBtn = button('', () => act(async () => {
    net = await setNetworkEnabled(net, !net.enabled);
    drawHeader();
  }), { small: false });
  function drawHeader() {
    setText(headTitle, net.name);
    setText(subtitle, `${net.interface} · ${modeLabel(net.mode)} · ${net.subnet} · UDP ${net.listen_port}${net.enabled ? '' : ' · disabled'}`);
    setText(enableBtn, net.enabled ? 'Disable' : 'Enable');
    drawInfo();
  }
  const head = h('div', { class: 'page-head' },
    h('div', { class: 'page-title' },
      h('div', { class: 'crumbs' }, h('a', { href: '/networks' }, 'Networks'), ' / '),
      h('h1', { id: 'page-title', tabindex: '-1' }, headTitle),
      subtitle),
    ro ? null : h('div', { class: 'page-actions' },
      button('Add peer', () => addPeer(), { kind: 'primary', dataset: { action: 'add-peer' } }),
      button('Edit', () => openNetworkDialog(net, { onSaved: (n) => { net = { ...net, ...n }; drawHeader(); } })),
      enableBtn,
      button('Export', () => act(() => exportNetwork(net)), { title: 'Download the server configuration (contains the private key)' }),
      button('Delete', () => act(async () => {
        if (await deleteNetwork({ ...net, peer_count: peers.length })) ctx.navigate('/networks');
      }), { kind: 'ghost', class: 'danger-text' })));

  // ---- info and bridges
  const info = h('div');
  function drawInfo() {
    const keyCopy = button('Copy', async () => {
      toast((await copyText(net.public_key)) ? 'Public key copied.' : 'Copying is not allowed here.', 'info');
    }, { small: true, kind: 'link' });
    mount(info, details([
      ['State', net.enabled ? badge('enabled', 'ok') : badge('disabled')],
      ['Public key', h('span', null, h('code', { class: 'break' }, net.public_key), ' ', keyCopy)],
      ['Server address', h('code', null, serverIp(net.subnet))],
      ['DNS for peers', net.dns_servers || 'none'],
      ['NAT', net.nat_enabled ? 'on — peers reach the internet through the server' : 'off'],
      ['Peer to peer', net.inter_peer_routing ? 'allowed' : 'blocked'],
      ...(net.mtu ? [['MTU', String(net.mtu)]] : []),
      ['Created', fmtDate(net.created_at)],
    ]));
  }
  const bridgesBody = h('div', null, h('p', { class: 'muted' }, 'Loading bridges…'));

  // ---- peer table
  const search = h('input', { type: 'search', placeholder: 'Search name, e-mail, address or key', 'aria-label': 'Search peers', class: 'grow' });
  search.addEventListener('input', debounce(() => {
    state.q = search.value.trim().toLowerCase();
    state.page = 0;
    recompute();
  }, 120));
  const filterSel = h('select', { 'aria-label': 'Show' },
    [['all', 'All peers'], ['online', 'Online'], ['offline', 'Offline'], ['disabled', 'Disabled']].map(([v, l]) =>
      h('option', { value: v, selected: v === state.filter }, l)));
  filterSel.addEventListener('change', () => {
    state.filter = filterSel.value;
    state.page = 0;
    recompute();
  });
  const sizeSel = h('select', { 'aria-label': 'Peers per page' },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === state.size }, `${n} per page`)));
  sizeSel.addEventListener('change', () => {
    state.size = Number(sizeSel.value);
    state.page = 0;
    renderPage();
  });
  const live = h('span', { class: 'live' }, 'Connecting…');
  const setMode = liveBadge(live);

  const COLS = [
    ['status', 'Status', 'c-status'], ['name', 'Name', 'c-name'], ['ip', 'Address', 'c-ip'],
    ['transfer', 'Transfer', 'c-tr'], ['handshake', 'Handshake', 'c-hs'],
    ['keepalive', 'Keepalive', 'c-ka'],
  ];
  const ths = new Map();
  const headRow = h('tr', null, COLS.map(([key, label]) => {
    const b = key === 'status'
      ? h('button', { type: 'button', class: 'sort-btn', 'aria-label': 'Sort by status', title: 'Status' }, h('span', { class: 'dot dot-off', 'aria-hidden': 'true' }))
      : h('button', { type: 'button', class: 'sort-btn' }, label);
    const th = h('th', { scope: 'col', class: [['transfer', 'keepalive'].includes(key) ? 'num' : '', key === 'keepalive' ? 'c-ka-cell' : ''] }, b);
    b.addEventListener('click', () => {
      if (state.sort === key) state.dir = -state.dir;
      else {
        state.sort = key;
        state.dir = key === 'name' || key === 'ip' ? 1 : -1;
      }
      state.page = 0;
      recompute();
    });
    ths.set(key, th);
    return th;
  }), h('th', { scope: 'col', class: 'actions' }, 'Actions'));
  const tbody = h('tbody');
  const table = h('table', { class: 'data peer-table cards-on-phone' },
    h('caption', { class: 'sr-only' }, `Peers of ${net.name}`),
    h('colgroup', null, COLS.map(([, , c]) => h('col', { class: c })), h('col', { class: 'c-act' })),
    h('thead', null, headRow), tbody);
  const emptyMsg = h('div', { class: 'notice notice-empty inset', hidden: true });
  const rangeText = h('span', { class: 'muted small num', 'aria-live': 'polite' });
  const pageText = h('span', { class: 'small num' });
  const prev = button('← Previous', () => { state.page -= 1; renderPage(); }, { small: true });
  const next = button('Next →', () => { state.page += 1; renderPage(); }, { small: true });
  const first = button('«', () => { state.page = 0; renderPage(); }, { small: true, ariaLabel: 'First page' });
  const last = button('»', () => { state.page = Infinity; renderPage(); }, { small: true, ariaLabel: 'Last page' });
  const pager = h('div', { class: 'pager' }, rangeText, h('div', { class: 'pager-buttons' }, first, prev, pageText, next, last));
  const peerCount = h('span', { class: 'badge' });

  function rowFor(p) {
    let r = rows.get(p.id);
    if (r) return r;
    const dot = statusDot(false);
    const nameLink = h('a', { href: `/networks/${id}/peers/${p.id}` });
    const sub = h('span', { class: 'sub' });
    const ip = h('code');
    const rx = h('span', { class: 'tr-line', title: 'received from the peer' });
    const tx = h('span', { class: 'tr-line', title: 'sent to the peer' });
    const transfer = h('td', { class: 'num', 'data-label': 'Transfer' }, h('span', null, rx, tx));
    const hs = h('td', { 'data-label': 'Last handshake' });
    const ka = h('td', { class: 'num c-ka-cell', 'data-label': 'Keepalive' });
    const sw = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', disabled: ro, 'aria-label': `Enable ${p.name}` });
    sw.addEventListener('change', () => togglePeer(p, sw.checked));
    const actions = h('td', { class: 'actions' },
      h('label', { class: 'switch switch-bare', title: 'Enabled' }, sw, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
      ro ? null : button('Config', () => openConfigModal({ peer: p, networkId: id }), { small: true, dataset: { action: 'config' } }),
      ro ? null : button('Edit', () => openPeerDialog(net, p, { onSaved: (s) => { Object.assign(p, s); update(); } }), { small: true }),
      ro ? null : button('Delete', () => act(async () => {
        if (await deletePeer(id, p)) removePeer(p);
      }), { small: true, kind: 'ghost', class: 'danger-text' }));
    const tr = h('tr', { dataset: { peerId: p.id } },
      h('td', { 'data-label': 'Status' }, dot),
      h('td', { class: 'card-title', 'data-label': 'Name' }, h('div', { class: 'name-cell' }, h('div', null, nameLink, sub))),
      h('td', { 'data-label': 'Address' }, ip),
      transfer, hs, ka, actions);
    function update() {
      setDot(dot, p.enabled && p.online, !p.enabled ? 'disabled' : p.online ? 'online' : 'offline');
      tr.dataset.online = String(!!(p.enabled && p.online));
      tr.dataset.enabled = String(!!p.enabled);
      tr.classList.toggle('is-disabled', !p.enabled);
      setText(nameLink, p.name);
      setText(sub, [p.email, p.role === 'site-gateway' ? 'site gateway' : '', p.expires_at ? `expires ${fmtDate(p.expires_at)}` : '']
        .filter(Boolean).join(' · ') || (p.tunnel_type === 'split' ? 'split tunnel' : 'client'));
      setText(ip, String(p.allowed_ips).split(',')[0]);
      setText(rx, `↓ ${fmtBytes(p.transfer_rx)}`);
      setText(tx, `↑ ${fmtBytes(p.transfer_tx)}`);
      setText(hs, p.enabled ? fmtAgo(p.last_handshake) : 'disabled');
      setText(ka, p.persistent_keepalive ? `${p.persistent_keepalive} s` : 'off');
      sw.checked = !!p.enabled;
      sw.setAttribute('aria-label', `Enabled: ${p.name}`);
    }
    update();
    r = { tr, update };
    rows.set(p.id, r);
    return r;
  }

  async function togglePeer(p, enabled) {
    // optimistic (ui.md): flip now, undo on failure
    const before = p.enabled;
    p.enabled = enabled;
    if (!enabled) p.online = false;
    rows.get(p.id).update();
    try {
      const s = await setPeerEnabled(id, p, enabled);
      Object.assign(p, s);
      rows.get(p.id).update();
      toast(`Peer “${p.name}” ${enabled ? 'enabled' : 'disabled'}.`);
    } catch (e) {
      p.enabled = before;
      rows.get(p.id).update();
      if (e.status !== 401) toast(`Could not ${enabled ? 'enable' : 'disable'} “${p.name}”: ${e.message}`, 'error');
    }
  }

  function matches(p) {
    if (state.filter === 'online' && !(p.enabled && p.online)) return false;
    if (state.filter === 'offline' && (!p.enabled || p.online)) return false;
    if (state.filter === 'disabled' && p.enabled) return false;
    if (!state.q) return true;
    return String(p.name).toLowerCase().includes(state.q) ||
      String(p.email || '').toLowerCase().includes(state.q) ||
      String(p.allowed_ips).includes(state.q) ||
      String(p.public_key).toLowerCase().includes(state.q);
  }

  function recompute() {
    const key = SORTS[state.sort];
    const dir = state.dir;
    view = peers.filter(matches);
    view.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka < kb) return -dir;
      if (ka > kb) return dir;
      return a.id - b.id;
    });
    for (const [k, th] of ths) {
      if (k === state.sort) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    renderPage();
  }

  function renderPage() {
    const pages = Math.max(1, Math.ceil(view.length / state.size));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    const start = state.page * state.size;
    const slice = view.slice(start, start + state.size);
    tbody.replaceChildren(...slice.map((p) => rowFor(p).tr));
    setText(peerCount, fmtNumber(peers.length));
    table.hidden = slice.length === 0;
    pager.hidden = pages <= 1;
    emptyMsg.hidden = slice.length !== 0;
    if (!slice.length) {
      clear(emptyMsg);
      emptyMsg.append(peers.length ? 'No peer matches the search or filter.' : 'No peers yet. ');
      if (!peers.length && !ro) emptyMsg.append(button('Add the first peer', () => addPeer(), { kind: 'primary', small: true }));
    }
    setText(rangeText, view.length ? `${fmtNumber(start + 1)}–${fmtNumber(start + slice.length)} of ${fmtNumber(view.length)}${view.length !== peers.length ? ` (filtered from ${fmtNumber(peers.length)})` : ''}` : '');
    setText(pageText, `Page ${state.page + 1} of ${pages}`);
    prev.disabled = first.disabled = state.page === 0;
    next.disabled = last.disabled = state.page >= pages - 1;
  }

  function addPeer() {
    openPeerDialog(net, null, {
      onSaved: (p) => {
        peers.push(p);
        byId.set(p.id, p);
        recompute();
        openConfigModal({ peer: p, networkId: id, intro: 'Peer created. Add this configuration to the device.' });
      },
    });
  }

  function removePeer(p) {
    const i = peers.indexOf(p);
    if (i >= 0) peers.splice(i, 1);
    byId.delete(p.id);
    rows.delete(p.id);
    recompute();
  }

  const peerPanel = h('section', { class: 'panel panel-flush' },
    h('div', { class: 'panel-title' }, h('h2', null, 'Peers'), peerCount, h('span', { class: 'spacer' }), net.enabled ? live : badge('network disabled')),
    h('div', { class: 'toolbar pad-x' }, search, filterSel, sizeSel),
    h('div', { class: 'table-wrap' }, table), emptyMsg, pager);

  mount(ctx.el, head, peerPanel,
    h('div', { class: 'grid-2' }, card('Network', info), card('Bridges', bridgesBody)));
  drawHeader();
  recompute();

  // ---- live status: merge each event by peer id, update visible rows only
  if (net.enabled) {
    watchNetworks(ctx, [id], {
      onStatus(_id, list2) {
        const changed = mergeStatus(byId, list2.filter((s) => byId.get(s.peer_id)?.enabled !== false));
        for (const p of changed) {
          const r = rows.get(p.id);
          if (r) r.update();
        }
      },
      onMode: (_id, mode, msg) => setMode(mode, msg),
    });
  }
  // relative handshake times of the visible rows age without events
  const ager = setInterval(() => {
    for (const tr of tbody.children) {
      const p = byId.get(Number(tr.dataset.peerId));
      if (p) rows.get(p.id).update();
    }
  }, 15000);
  ctx.onDispose(() => clearInterval(ager));

  loadBridges(ctx, id, bridgesBody, ro);
}

function serverIp(subnet) {
  const [addr, prefix] = String(subnet).split('/');
  const p = addr.split('.').map(Number);
  if (p.length !== 4) return subnet;
  p[3] += 1;
  return `${p.join('.')}/${prefix}`;
}

async function loadBridges(ctx, id, body, ro) {
  try {
    const all = await get('/api/bridges', { signal: ctx.signal });
    const mine = all.filter((b) => b.network_a_id === id || b.network_b_id === id);
    if (!mine.length) {
      mount(body, h('p', { class: 'muted' }, 'This network is not bridged to another network. Peers of different networks cannot reach each other without a bridge.'),
        ro ? null : h('a', { href: '/bridges', class: 'btn btn-sm' }, 'Manage bridges'));
      return;
    }
    mount(body, h('ul', { class: 'peer-mini' }, mine.map((b) => {
      const other = b.network_a_id === id ? b.network_b_name : b.network_a_name;
      const dir = b.direction === 'bidirectional' ? '⇄' : (b.direction === 'a_to_b') === (b.network_a_id === id) ? '→' : '←';
      return h('li', null, statusDot(b.enabled, b.enabled ? 'enabled' : 'disabled'),
        h('span', null, `${dir} ${other}`, b.allowed_cidrs ? h('span', { class: 'muted small' }, ` (only ${b.allowed_cidrs})`) : null),
        h('span', { class: 'meta' }, b.enabled ? 'enabled' : 'disabled'));
    })), h('a', { href: '/bridges', class: 'more-link' }, 'Manage bridges →'));
  } catch (e) {
    if (e.name === 'AbortError') return;
    mount(body, notice(e.missing ? 'warn' : 'error', e.missing ? 'Bridges are not available on this server yet.' : 'Bridges could not be loaded.', e.message));
  }
}
