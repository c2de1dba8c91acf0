// SPDX-License-Identifier: MIT
// /settings/alerts — alert rules (api.md §10, monitoring.md §4).

import { get, post, put, del } from '../api.js';
import {
  h, mount, pageHeader, notice, button, field, openDialog, showError, clearErrors, busy, toast,
  confirmDialog, toggle, fmtDate, uid,
} from '../ui.js';
import { settingsTabs } from './tabs.js';
import { act } from './networks.js';
import { isViewer } from '../app.js';

const TYPES = {
  peer_offline: ['Peer offline', 'How long a peer may be without handshake, e.g. 10m or 2h.', '10m'],
  interface_down: ['Interface down', 'Fires as soon as an enabled network’s interface is down: enter “immediate”.', 'immediate'],
  transfer_spike: ['Transfer spike', 'A rate per peer, e.g. 1GB/hour or 500MB/day.', '1GB/hour'],
};

function describe(a) {
  if (a.type === 'peer_offline') return `a peer has been offline for more than ${a.threshold}`;
  if (a.type === 'interface_down') return 'a network interface goes down';
  if (a.type === 'transfer_spike') return `a peer transfers more than ${a.threshold}`;
  return a.threshold;
}

function openAlertDialog(alert, onSaved) {
  const form = h('form', { novalidate: true, id: uid('alertform') });
  const type = field({ label: 'When', name: 'type', type: 'select', value: alert ? alert.type : 'peer_offline',
    options: Object.entries(TYPES).map(([k, [l]]) => [k, l]) });
  const threshold = field({ label: 'Threshold', name: 'threshold', value: alert ? alert.threshold : TYPES.peer_offline[2], spellcheck: 'false',
    hint: TYPES[alert ? alert.type : 'peer_offline'][1] });
  const notify = field({ label: 'Notify by', name: 'notify', type: 'select', value: alert ? alert.notify : 'email',
    options: [['email', 'E-mail (SMTP settings needed)'], ['log', 'Log entry only']] });
  const enabled = toggle('Enabled', alert ? alert.enabled : true, null, { name: 'enabled' });
  type.input.addEventListener('change', () => {
    const t = TYPES[type.input.value];
    threshold.querySelector('.hint').textContent = t[1];
    threshold.input.value = t[2];
  });
  form.append(h('div', { class: 'form-grid' }, type, threshold), notify, enabled);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, alert ? 'Save changes' : 'Create alert');
  const d = openDialog({
    title: alert ? 'Edit alert' : 'New alert',
    body: form,
    actions: [button('Cancel', () => d.close()), submit],
  });
  d.el.dataset.dialog = 'alert';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      type: type.input.value, threshold: threshold.input.value.trim(), notify: notify.input.value,
      enabled: enabled.querySelector('input').checked,
    };
    if (alert) {
      for (const k of Object.keys(body)) if (body[k] === alert[k]) delete body[k];
      if (!Object.keys(body).length) {
        d.close();
        return;
      }
    }
    try {
      const saved = await busy(submit, alert ? put(`/api/alerts/${alert.id}`, body) : post('/api/alerts', body));
      toast(alert ? 'Alert saved.' : 'Alert created.');
      d.close();
      onSaved(saved);
    } catch (err) {
      showError(form, err);
    }
  });
}

export default async function alertsView(ctx) {
  const ro = isViewer();
  const body = h('div');
  const newBtn = ro ? null : button('New alert', () => openAlertDialog(null, reload), { kind: 'primary', dataset: { action: 'new-alert' } });
  mount(ctx.el, pageHeader('Alerts', 'Get notified when peers go offline, interfaces fail or traffic spikes.', newBtn),
    settingsTabs('/settings/alerts'), body);

  let list;
  try {
    list = await get('/api/alerts', { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    if (newBtn) newBtn.disabled = true;
    mount(body, notice(e.missing ? 'warn' : 'error', e.missing ? 'Alerts are not available on this server yet.' : 'Alerts could not be loaded.', e.message));
    return;
  }

  async function reload() {
    list = await get('/api/alerts');
    draw();
  }

  function row(a) {
    const sw = toggle('Enabled', a.enabled, (on, input) => act(async () => {
      try {
        Object.assign(a, await put(`/api/alerts/${a.id}`, { enabled: on }));
        toast(`Alert ${on ? 'enabled' : 'disabled'}.`);
      } catch (e) {
        input.checked = !on;
        throw e;
      }
    }), { hideLabel: true, disabled: ro });
    return h('tr', { class: a.enabled ? '' : 'is-disabled', dataset: { alertId: a.id } },
      h('td', { class: 'card-title', 'data-label': 'Alert' }, h('strong', null, (TYPES[a.type] || [a.type])[0]),
        h('span', { class: 'muted small' }, ` — when ${describe(a)}`)),
      h('td', { 'data-label': 'Threshold' }, h('code', null, a.threshold)),
      h('td', { 'data-label': 'Notify' }, a.notify === 'log' ? 'log only' : 'e-mail'),
      h('td', { 'data-label': 'Created' }, fmtDate(a.created_at)),
      h('td', { 'data-label': 'Enabled' }, sw),
      ro ? null : h('td', { class: 'actions' },
        button('Edit', () => openAlertDialog(a, reload), { small: true }),
        button('Delete', () => act(async () => {
          if (!await confirmDialog({ title: 'Delete this alert?', message: `No more notifications when ${describe(a)}.`, confirmLabel: 'Delete alert', danger: true })) return;
          await del(`/api/alerts/${a.id}`);
          toast('Alert deleted.');
          await reload();
        }), { small: true, kind: 'ghost', class: 'danger-text' })));
  }

  function draw() {
    if (!list.length) {
      mount(body, notice('empty', 'No alert rules', 'Create one to be told when a peer stays offline or an interface goes down.'));
      return;
    }
    mount(body, h('section', { class: 'panel panel-flush' }, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, 'Alert rules'),
      h('thead', null, h('tr', null, ['Alert', 'Threshold', 'Notify', 'Created', 'Enabled'].map((t) => h('th', { scope: 'col' }, t)),
        ro ? null : h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, list.map(row))))));
  }
  draw();
}
