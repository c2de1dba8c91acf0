// SPDX-License-Identifier: MIT
// /bridges — routes between two networks (api.md §7).

import { get, post, put, del, networks } from '../api.js';
import {
  h, mount, pageHeader, notice, button, field, openDialog, showError, clearErrors, busy, toast,
  confirmDialog, toggle, uid,
} from '../ui.js';
import { choiceGroup } from './forms.js';
import { act } from './networks.js';
import { isViewer } from '../app.js';

function directions(a, b) {
  return [
    ['bidirectional', 'Both ways', `Peers of ${a} and ${b} can reach each other.`],
    ['a_to_b', `${a} → ${b}`, `Peers of ${a} can open connections to ${b}, not the other way round.`],
    ['b_to_a', `${b} → ${a}`, `Peers of ${b} can open connections to ${a}, not the other way round.`],
  ];
}

function dirText(b) {
  if (b.direction === 'a_to_b') return `${b.network_a_name} → ${b.network_b_name}`;
  if (b.direction === 'b_to_a') return `${b.network_b_name} → ${b.network_a_name}`;
  return `${b.network_a_name} ⇄ ${b.network_b_name}`;
}

function openBridgeDialog(nets, bridge, onSaved) {
  const form = h('form', { novalidate: true, id: uid('bridgeform') });
  const netOpts = nets.map((n) => [String(n.id), `${n.name} (${n.interface}, ${n.subnet})`]);
  const a = bridge ? null : field({ label: 'Network A', name: 'network_a_id', type: 'select', options: netOpts, value: netOpts[0] && netOpts[0][0] });
  const b = bridge ? null : field({ label: 'Network B', name: 'network_b_id', type: 'select', options: netOpts, value: netOpts[1] && netOpts[1][0] });
  const nameOf = (sel, fallback) => {
    const n = nets.find((x) => String(x.id) === sel?.input.value);
    return n ? n.name : fallback;
  };
  const dirBox = h('div');
  let dir = null;
  const drawDir = () => {
    const value = dir ? dir.value() : bridge ? bridge.direction : 'bidirectional';
    dir = choiceGroup('Direction', 'direction',
      directions(bridge ? bridge.network_a_name : nameOf(a, 'A'), bridge ? bridge.network_b_name : nameOf(b, 'B')), value);
    mount(dirBox, dir);
  };
  drawDir();
  if (a) {
    a.input.addEventListener('change', drawDir);
    b.input.addEventListener('change', drawDir);
  }
  const cidrs = field({ label: 'Allowed destinations', name: 'allowed_cidrs', optional: true, value: bridge ? bridge.allowed_cidrs : '',
    placeholder: '10.1.0.0/24, 10.2.0.10/32', spellcheck: 'false',
    hint: 'Comma-separated CIDRs the bridge lets through. Empty: the whole other network.' });
  const enabled = bridge ? toggle('Enabled', bridge.enabled, null, { name: 'enabled' }) : null;
  form.append(a && h('div', { class: 'form-grid' }, a, b), dirBox, cidrs, enabled && h('div', { class: 'field', dataset: { field: 'enabled' } }, enabled));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, bridge ? 'Save changes' : 'Create bridge');
  const d = openDialog({
    title: bridge ? `Edit bridge ${dirText(bridge)}` : 'New bridge',
    description: bridge ? null : 'A bridge lets peers of two networks reach each other through the server’s firewall.',
    body: form,
    wide: true,
    actions: [button('Cancel', () => d.close()), submit],
  });
  d.el.dataset.dialog = 'bridge';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    let body;
    if (bridge) {
      body = {};
      if (dir.value() !== bridge.direction) body.direction = dir.value();
      if (cidrs.input.value.trim() !== (bridge.allowed_cidrs || '')) body.allowed_cidrs = cidrs.input.value.trim();
      const en = enabled.querySelector('input').checked;
      if (en !== !!bridge.enabled) body.enabled = en;
      if (!Object.keys(body).length) {
        d.close();
        return;
      }
    } else {
      body = {
        network_a_id: Number(a.input.value), network_b_id: Number(b.input.value),
        direction: dir.value(), allowed_cidrs: cidrs.input.value.trim(),
      };
    }
    try {
      const saved = await busy(submit, bridge ? put(`/api/bridges/${bridge.id}`, body) : post('/api/bridges', body));
      toast(bridge ? 'Bridge saved.' : `Bridge ${dirText(saved)} created.`);
      d.close();
      onSaved(saved);
    } catch (err) {
      showError(form, err);
    }
  });
}

export default async function bridgesView(ctx) {
  const ro = isViewer();
  const [list0, nets] = await Promise.all([get('/api/bridges', { signal: ctx.signal }), networks(1000)]);
  let list = list0;
  const body = h('div');

  async function reload() {
    list = await get('/api/bridges');
    draw();
  }
  const create = () => {
    if (nets.length < 2) {
      toast('A bridge needs two networks. Create another network first.', 'info');
      return;
    }
    openBridgeDialog(nets, null, reload);
  };

  function row(b) {
    const sw = toggle('Enabled', b.enabled, (on, input) => act(async () => {
      try {
        const s = await put(`/api/bridges/${b.id}`, { enabled: on });
        Object.assign(b, s);
        toast(`Bridge ${on ? 'enabled' : 'disabled'}.`);
      } catch (e) {
        input.checked = !on;
        throw e;
      }
    }), { hideLabel: true, disabled: ro });
    return h('tr', { class: b.enabled ? '' : 'is-disabled', dataset: { bridgeId: b.id } },
      h('td', { class: 'card-title', 'data-label': 'Bridge' }, h('strong', null, dirText(b))),
      h('td', { 'data-label': 'Interfaces' }, h('code', null, `${b.interface_a} ↔ ${b.interface_b}`)),
      h('td', { 'data-label': 'Direction' }, b.direction === 'bidirectional' ? 'both ways' : 'one way'),
      h('td', { 'data-label': 'Allowed' }, b.allowed_cidrs || 'everything'),
      h('td', { 'data-label': 'Enabled' }, sw),
      ro ? null : h('td', { class: 'actions' },
        button('Edit', () => openBridgeDialog(nets, b, reload), { small: true }),
        button('Delete', () => act(async () => {
          const ok = await confirmDialog({ title: 'Delete this bridge?', message: `Traffic between ${b.network_a_name} and ${b.network_b_name} will be blocked again.`, confirmLabel: 'Delete bridge', danger: true });
          if (!ok) return;
          await del(`/api/bridges/${b.id}`);
          toast('Bridge deleted.');
          await reload();
        }), { small: true, kind: 'ghost', class: 'danger-text' })));
  }

  function draw() {
    if (!list.length) {
      mount(body, notice('empty', 'No bridges',
        nets.length < 2 ? 'Bridges connect two networks; you have fewer than two networks so far.' : 'Networks are isolated from each other until you bridge them.'));
      return;
    }
    mount(body, h('section', { class: 'panel panel-flush' }, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, 'Bridges'),
      h('thead', null, h('tr', null, ['Bridge', 'Interfaces', 'Direction', 'Allowed', 'Enabled'].map((t) => h('th', { scope: 'col' }, t)),
        ro ? null : h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, list.map(row))))));
  }

  mount(ctx.el,
    pageHeader('Bridges', 'Let peers of two networks reach each other, in one or both directions.',
      ro ? null : button('New bridge', create, { kind: 'primary', dataset: { action: 'new-bridge' } })),
    body);
  draw();
}
