// SPDX-License-Identifier: MIT
// /networks — list, create/edit dialog, enable/disable, delete, export.

import { networks, post, del, request, filenameOf, networksChanged } from '../api.js';
import { h, mount, pageHeader, notice, button, badge, statusDot, fmtNumber, toast, confirmDialog, download, card } from '../ui.js';
import { openNetworkDialog, modeLabel } from './forms.js';
import { isViewer } from '../app.js';

/** Shared actions of a network (list and detail page). */
export async function setNetworkEnabled(n, enabled) {
  const r = await post(`/api/networks/${n.id}/${enabled ? 'enable' : 'disable'}`);
  networksChanged();
  toast(`Network “${n.name}” ${enabled ? 'enabled' : 'disabled'}.`);
  return r;
}

export async function deleteNetwork(n) {
  const ok = await confirmDialog({
    title: `Delete ${n.name}?`,
    message: `This removes the interface ${n.interface}, its ${fmtNumber(n.peer_count || 0)} peer(s), their keys and history, and its bridges. Devices using it lose their connection. This cannot be undone.`,
    confirmLabel: 'Delete network',
    danger: true,
  });
  if (!ok) return false;
  await del(`/api/networks/${n.id}`);
  networksChanged();
  toast(`Network “${n.name}” deleted.`);
  return true;
}

export async function exportNetwork(n) {
  const res = await request('GET', `/api/networks/${n.id}/export`, { as: 'response' });
  const text = await res.text();
  const name = filenameOf(res, `${n.interface}.conf`);
  download(name, text);
  toast(`Exported ${name}. It contains the server’s private key: store it safely.`, 'info');
}

/** Runs an action, turning its error into a toast. */
export async function act(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e && e.status !== 401) toast(e.message, 'error');
    return undefined;
  }
}

export default async function networksView(ctx) {
  const ro = isViewer();
  let list = await networks(1000);
  const body = h('div');

  const nextPort = () => {
    const used = new Set(list.map((n) => n.listen_port));
    let p = 51820;
    while (used.has(p)) p += 1;
    return p;
  };
  const create = () => openNetworkDialog(null, {
    defaultPort: nextPort(),
    onSaved: (n) => ctx.navigate(`/networks/${n.id}`),
  });

  async function reload() {
    list = await networks(true);
    draw();
  }

  function row(n) {
    const actions = ro ? [] : [
      button('Edit', () => openNetworkDialog(n, { onSaved: reload }), { small: true }),
      button(n.enabled ? 'Disable' : 'Enable', () => act(async () => {
        await setNetworkEnabled(n, !n.enabled);
        await reload();
      }), { small: true }),
      button('Export', () => act(() => exportNetwork(n)), { small: true, title: 'Download the server configuration (wg-quick format)' }),
      button('Delete', () => act(async () => {
        if (await deleteNetwork(n)) await reload();
      }), { small: true, kind: 'ghost', class: 'danger-text' }),
    ];
    return h('tr', { class: n.enabled ? '' : 'is-disabled', dataset: { networkId: n.id } },
      h('td', { class: 'card-title', 'data-label': 'Name' }, h('div', { class: 'name-cell' },
        statusDot(n.enabled, n.enabled ? 'enabled' : 'disabled'),
        h('a', { href: `/networks/${n.id}` }, n.name))),
      h('td', { 'data-label': 'Interface' }, h('code', null, n.interface)),
      h('td', { 'data-label': 'Mode' }, modeLabel(n.mode)),
      h('td', { 'data-label': 'Subnet' }, h('code', null, n.subnet)),
      h('td', { 'data-label': 'Port', class: 'num' }, String(n.listen_port)),
      h('td', { 'data-label': 'Peers', class: 'num' }, fmtNumber(n.peer_count || 0)),
      h('td', { 'data-label': 'State' }, n.enabled ? badge('enabled', 'ok') : badge('disabled')),
      ro ? null : h('td', { class: 'actions' }, actions));
  }

  function draw() {
    if (!list.length) {
      mount(body, notice('empty', 'No networks yet',
        'A network is a WireGuard interface with its own address range and port. ',
        ro ? '' : button('Create your first network', create, { kind: 'primary', small: true })));
      return;
    }
    mount(body, card(null, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, 'Networks'),
      h('thead', null, h('tr', null,
        ['Name', 'Interface', 'Mode', 'Subnet', 'Port', 'Peers', 'State'].map((t) =>
          h('th', { scope: 'col', class: t === 'Port' || t === 'Peers' ? 'num' : '' }, t)),
        ro ? null : h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, list.map(row))))));
    body.firstChild.classList.add('panel-flush');
  }

  mount(ctx.el,
    pageHeader('Networks', 'Each network is one WireGuard interface with its own subnet, UDP port and keys.',
      ro ? null : button('New network', create, { kind: 'primary', dataset: { action: 'new-network' } })),
    ro ? notice('info', null, 'Your account is read-only.') : null,
    body);
  draw();
  if (ctx.query.get('new') === '1' && !ro) {
    history.replaceState(null, '', '/networks');
    create();
  }
}
