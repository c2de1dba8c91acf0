// SPDX-License-Identifier: MIT
// /settings/system — system information, health, the UDP ports and routes
// of the WireGuard networks (roadmap feat-007, feat-009), backup download
// and restore upload (api.md §12, §13).

import { get, request, filenameOf, networksChanged, networks } from '../api.js';
import { h, mount, pageHeader, notice, button, details, badge, busy, toast, confirmDialog, download, card, fmtBytes, skeleton, setText } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { currentUser } from '../app.js';

// ---------------------------------------------------------------------------
// ports (feat-007) and routes (feat-009): tables that become cards on phones

/** A load failure in words: missing endpoint, reconciler down (503), … */
function loadFailed(e, what) {
  return h('div', { class: 'inset' }, notice(e.missing ? 'warn' : 'error',
    e.missing ? `${what} are not available on this server yet.` : `${what} could not be read.`,
    e.message, e.requestId ? ` Request id: ${e.requestId}.` : ''));
}

/** The network of iface as a link with its interface name (or the name alone). */
function netCell(byIface, iface) {
  const n = byIface.get(iface);
  return h('td', { 'data-label': 'Network' }, h('span', null,
    n ? [h('a', { href: `/networks/${n.id}` }, n.name), ' '] : null, h('code', null, iface || '—')));
}

function panelHead(title, ...right) {
  const id = `sys-${title.toLowerCase()}`;
  return [id, h('div', { class: 'panel-title' }, h('h2', { id }, title), ...right)];
}

// GET /api/system/ports: a row per network's UDP port, and the HTTPS port
function portsSection(ctx) {
  const body = h('div', { class: 'pad-x' }, skeleton(3));
  const again = button('Check again', () => busy(again, load()).catch(() => {}), { small: true, dataset: { action: 'ports-refresh' } });
  const [id, head] = panelHead('Ports', h('span', { class: 'spacer' }), again);
  const el = h('section', { class: 'panel panel-flush', 'aria-labelledby': id, dataset: { system: 'ports' } }, head,
    h('p', { class: 'muted pad-x' }, 'The UDP port of each network and the HTTPS port of this web interface. ',
      'A network whose port another program holds cannot start.'),
    body);
  let byIface = new Map();

  // key: ok | conflict | https (data-state, for tests and styles)
  function row(key, port, proto, who, state, disabled) {
    return h('tr', { class: disabled ? 'is-disabled' : '', dataset: { port, state: key } },
      h('td', { class: 'card-title' }, h('span', null, h('strong', { class: 'num' }, String(port)), h('span', { class: 'muted small' }, ` ${proto}`))),
      who, h('td', { 'data-label': 'State' }, state));
  }
  const inUse = () => badge('In use by another program', 'err');

  function draw(p) {
    const bad = new Set((p.conflicting_ports || []).map((c) => `${c.interface}:${c.port}`));
    const rows = [];
    let conflicts = 0;
    for (const w of p.wireguard_ports || []) {
      const n = byIface.get(w.interface);
      const conflict = bad.delete(`${w.interface}:${w.port}`);
      const off = n && !n.enabled;
      if (conflict) conflicts += 1;
      rows.push(row(conflict ? 'conflict' : 'ok', w.port, 'UDP', netCell(byIface, w.interface), conflict
        ? h('span', null, inUse(), h('span', { class: 'small' }, ` ${n ? n.name : w.interface} cannot start on it.`))
        : h('span', null, badge('OK', 'ok'), off ? h('span', { class: 'muted small' }, ' (network disabled)') : null), off && !conflict));
    }
    for (const c of p.conflicting_ports || []) { // one whose network is not listed above
      if (!bad.has(`${c.interface}:${c.port}`)) continue;
      conflicts += 1;
      rows.push(row('conflict', c.port, (c.protocol || 'udp').toUpperCase(), netCell(byIface, c.interface), inUse()));
    }
    const https = p.https_port;
    if (https && https.port) {
      rows.push(row('https', https.port, 'TCP', h('td', { 'data-label': 'Network' }, 'Web interface and API (HTTPS)'),
        h('span', null, badge('OK', 'ok'), https.process ? h('span', { class: 'muted small' }, ` ${https.process}${https.pid ? `, pid ${https.pid}` : ''}`) : null)));
    }
    mount(body,
      conflicts ? h('div', { class: 'inset' }, notice('error',
        conflicts === 1 ? 'A network cannot start: another program holds its port.' : `${conflicts} networks cannot start: other programs hold their ports.`,
        'Stop that program, or give the network another port (Edit on the Networks page).')) : null,
      rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
        h('caption', { class: 'sr-only' }, 'Ports'),
        h('thead', null, h('tr', null, ['Port', 'Network', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows)))
        : h('div', { class: 'inset' }, notice('empty', null, 'No ports in use: there are no networks yet.')));
  }

  // nets: a promise of the network list (names, enabled), first load only
  async function load(nets) {
    try {
      const [list, p] = await Promise.all([nets, get('/api/system/ports', { signal: ctx.signal })]);
      if (list) byIface = new Map(list.map((n) => [n.interface, n]));
      draw(p);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      mount(body, loadFailed(e, 'Port checks'));
    }
    body.className = '';
  }
  return { el, load };
}

// GET /api/system/routes[?interface=wgN]: routes into WireGuard interfaces,
// filtered by network (kept in the address: /settings/system?interface=wgN)
function routesSection(ctx) {
  const body = h('div', { class: 'pad-x' }, skeleton(4));
  const count = h('span', { class: 'badge num' });
  count.hidden = true;
  const select = h('select', { name: 'route-interface' }, h('option', { value: '' }, 'All networks'));
  const wanted = ctx.query.get('interface') || '';
  const refresh = button('Refresh', () => busy(refresh, load()).catch(() => {}), { small: true, dataset: { action: 'routes-refresh' } });
  const legend = h('p', { class: 'muted small pad-x', hidden: true }, 'Managed: the network’s own address route, or a route wgpilot added. ',
    'Others were added by hand or by another program; wgpilot leaves them alone.');
  const [id, head] = panelHead('Routes', count, h('span', { class: 'spacer' }), refresh);
  const el = h('section', { class: 'panel panel-flush', 'aria-labelledby': id, dataset: { system: 'routes' } }, head,
    h('p', { class: 'muted pad-x' }, 'Routes that send traffic into a WireGuard interface, from every routing table but local.'),
    h('div', { class: 'toolbar pad-x' }, h('label', { class: 'small muted' }, 'Network ', select)),
    body, legend);
  let byIface = new Map();
  let seq = 0;

  select.addEventListener('change', () => {
    const v = select.value;
    history.replaceState(null, '', `${location.pathname}${v ? `?interface=${encodeURIComponent(v)}` : ''}`);
    load().catch(() => {}); // only an abort: the view was left
  });

  function draw(routes, iface) {
    setText(count, `${routes.length} route${routes.length === 1 ? '' : 's'}`);
    count.hidden = false;
    legend.hidden = !routes.length;
    if (!routes.length) {
      const n = byIface.get(iface);
      mount(body, h('div', { class: 'inset' }, notice('empty', null, iface
        ? `No route leads into ${n ? `${n.name} (${iface})` : iface}${n && !n.enabled ? ': the network is disabled' : ''}.`
        : 'No route leads into a WireGuard interface. Disabled networks have none.')));
      return;
    }
    mount(body, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, iface ? `Routes into ${iface}` : 'Routes into WireGuard interfaces'),
      h('thead', null, h('tr', null, ['Destination', 'Network', 'Table', 'Protocol', 'Metric', 'Managed'].map((t) =>
        h('th', { scope: 'col', class: t === 'Metric' ? 'num' : '' }, t)))),
      h('tbody', null, routes.map((r) => h('tr', { dataset: { route: r.destination, iface: r.interface, managed: !!r.managed } },
        h('td', { class: 'card-title' }, h('code', null, r.destination)),
        netCell(byIface, r.interface),
        h('td', { 'data-label': 'Table' }, r.table_name || String(r.table ?? '—')),
        h('td', { 'data-label': 'Protocol' }, r.protocol || '—'),
        h('td', { 'data-label': 'Metric', class: 'num' }, String(r.metric ?? 0)),
        h('td', { 'data-label': 'Managed' }, r.managed ? badge('managed', 'accent') : badge('not managed'))))))));
  }

  // nets: a promise of the network list (the filter's options), first load only
  async function load(nets) {
    const iface = nets ? wanted : select.value;
    const my = ++seq;
    body.setAttribute('aria-busy', 'true');
    try {
      const [list, r] = await Promise.all([nets,
        get(`/api/system/routes${iface ? `?interface=${encodeURIComponent(iface)}` : ''}`, { signal: ctx.signal })]);
      if (list) fillSelect(list);
      if (my === seq) draw(r.routes || [], iface);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      if (nets) fillSelect(await nets);
      if (my !== seq) return;
      count.hidden = true;
      legend.hidden = true;
      mount(body, loadFailed(e, 'Routes'));
    } finally {
      if (my === seq) {
        body.className = '';
        body.removeAttribute('aria-busy');
      }
    }
  }

  function fillSelect(list) {
    byIface = new Map(list.map((n) => [n.interface, n]));
    const ifaces = list.map((n) => n.interface);
    if (wanted && !ifaces.includes(wanted)) ifaces.push(wanted);
    select.append(...ifaces.map((i) => {
      const n = byIface.get(i);
      return h('option', { value: i, selected: i === wanted }, n ? `${n.name} (${i})` : i);
    }));
  }
  return { el, load };
}

export default async function systemView(ctx) {
  const admin = (currentUser() || {}).role === 'admin';
  const infoBody = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const healthBody = h('div', null, h('p', { class: 'muted' }, 'Loading…'));

  // --- backup
  const backupBtn = button('Download backup', async () => {
    try {
      const res = await busy(backupBtn, request('POST', '/api/system/backup', { as: 'response' }));
      const blob = await res.blob();
      const name = filenameOf(res, 'wgpilot-backup.db');
      download(name, blob);
      toast(`Backup ${name} (${fmtBytes(blob.size)}) downloaded.`);
    } catch (e) {
      toast(e.message, 'error');
    }
  }, { kind: 'primary', disabled: !admin, dataset: { action: 'backup' } });

  // --- restore
  const file = h('input', { type: 'file', accept: '.db,.sqlite,.sqlite3,application/octet-stream', 'aria-label': 'Backup file', disabled: !admin });
  const restoreResult = h('div', { 'aria-live': 'polite' });
  const restoreBtn = button('Restore…', async () => {
    const f = file.files && file.files[0];
    if (!f) {
      mount(restoreResult, notice('error', null, 'Choose a backup file first.'));
      return;
    }
    const ok = await confirmDialog({
      title: 'Restore this backup?',
      message: `Everything is replaced by the contents of ${f.name} (${fmtBytes(f.size)}): networks, peers, users and settings. WireGuard interfaces are rebuilt from it. Current data is lost unless you downloaded a backup first.`,
      confirmLabel: 'Restore backup',
      danger: true,
    });
    if (!ok) return;
    try {
      const r = await busy(restoreBtn, request('POST', '/api/system/restore', { raw: f }));
      networksChanged();
      mount(restoreResult, notice('info', 'Backup restored.', r && r.status ? `Server answer: ${r.status}.` : '', ' If your account changed with it, sign in again.'));
      toast('Backup restored.');
    } catch (e) {
      mount(restoreResult, notice('error', 'The backup was not restored.', e.message));
    }
  }, { kind: 'danger', disabled: !admin, dataset: { action: 'restore' } });

  const ports = portsSection(ctx);
  const routes = routesSection(ctx);
  mount(ctx.el,
    pageHeader('System', 'Version, health, ports, routes, backup and restore.'),
    settingsTabs('/settings/system'),
    h('div', { class: 'grid-2' }, card('System information', infoBody), card('Health', healthBody)),
    h('div', { class: 'mt' }, ports.el, routes.el),
    h('div', { class: 'grid-2' },
      card('Backup', h('p', { class: 'muted' }, 'A consistent copy of the database. Keys in it are encrypted with this server’s master key (/etc/wgpilot/master.key): keep a copy of that file too, or the backup cannot be read elsewhere.'),
        admin ? null : notice('info', null, 'Only administrators can make and restore backups.'),
        h('div', { class: 'form-actions' }, backupBtn)),
      card('Restore', h('p', { class: 'muted' }, 'Upload a backup made by wgpilot (up to 64 MiB).'),
        h('div', { class: 'field' }, file), restoreResult, h('div', { class: 'form-actions' }, restoreBtn))));

  // the network list (names for the interfaces) is shared with the sidebar
  const nets = networks().catch(() => []);
  const shown = Promise.all([ports.load(nets), routes.load(nets)]);
  shown.catch(() => {}); // an abort (view left) is awaited below, or dropped with the view
  const [info, health] = await Promise.allSettled([
    get('/api/system/info', { signal: ctx.signal }),
    request('GET', '/health', { signal: ctx.signal, as: 'response', noAuthRedirect: true }).then((r) => r.json())
      .catch(async (e) => {
        // 503 carries a health body too
        if (e && e.status === 503) return { status: 'unhealthy', database: 'error' };
        throw e;
      }),
  ]);
  if (ctx.signal.aborted) return;

  if (info.status === 'fulfilled') {
    const i = info.value;
    mount(infoBody, details([
      ['Version', i.version],
      ['Operating system', i.os],
      ['Architecture', i.arch],
      ['Kernel', i.kernel],
      ['WireGuard backend', i.backend === 'userspace' ? 'userspace (wireguard-go)' : i.backend === 'kernel' ? 'Linux kernel module' : i.backend],
      ['Uptime', i.uptime],
      ['Memory (API worker)', i.memory && i.memory.rss_mb !== undefined ? `${Number(i.memory.rss_mb).toFixed(1)} MB` : '—'],
    ]));
  } else {
    const e = info.reason;
    mount(infoBody, notice(e.missing ? 'warn' : 'error', e.missing ? 'System information is not available on this server yet.' : 'System information could not be loaded.', e.message));
  }

  if (health.status === 'fulfilled') {
    const hh = health.value;
    const ok = hh.status === 'healthy';
    mount(healthBody, details([
      ['Status', ok ? badge('healthy', 'ok') : badge(hh.status || 'unknown', hh.status === 'degraded' ? 'warn' : 'err')],
      ['Networks', hh.networks ? `${hh.networks.total} total · ${hh.networks.healthy} healthy · ${hh.networks.degraded} degraded` : '—'],
      ['Database', hh.database === 'ok' ? 'ok' : (hh.database || '—')],
      ['Service uptime', hh.uptime || '—'],
      ['Metrics', h('a', { href: '/metrics', target: '_blank', rel: 'noopener' }, 'Prometheus metrics (/metrics)')],
    ]));
  } else {
    const e = health.reason;
    mount(healthBody, notice(e.missing ? 'warn' : 'error', e.missing ? 'The health endpoint is not available on this server yet.' : 'Health could not be read.', e.message));
  }
  await shown;
}
