// SPDX-License-Identifier: MIT
// /settings/api-keys — API keys; a new key is shown exactly once (api.md §11).

import { get, post, del } from '../api.js';
import {
  h, mount, pageHeader, notice, button, field, openDialog, showError, clearErrors, busy, toast,
  confirmDialog, fmtDate, fmtAgo, badge, uid, copyText,
} from '../ui.js';
import { settingsTabs } from './tabs.js';
import { act } from './networks.js';
import { isViewer } from '../app.js';

function showKeyOnce(k) {
  const box = h('div', { class: 'secret', dataset: { secret: 'api-key' } }, k.key);
  const copy = button('Copy key', async () => {
    toast((await copyText(k.key)) ? 'API key copied.' : 'Copying is not allowed here; select the key and copy it.', 'info');
  }, { kind: 'primary' });
  const d = openDialog({
    title: `API key “${k.name}”`,
    body: h('div', null,
      notice('warn', 'Copy this key now.', 'It is shown only this once; wgpilot stores only a hash of it.'),
      box,
      h('p', { class: 'hint' }, 'Use it as “Authorization: Bearer <key>”. It acts with the role ', h('strong', null, k.role),
        k.expires_at ? ` until ${fmtDate(k.expires_at)}.` : ' and does not expire.')),
    actions: [copy, button('I have saved it', () => d.close())],
  });
  d.el.dataset.dialog = 'api-key-shown';
}

function openKeyDialog(onSaved) {
  const viewer = isViewer();
  const form = h('form', { novalidate: true, id: uid('keyform') });
  const name = field({ label: 'Name', name: 'name', placeholder: 'e.g. monitoring script', hint: 'To recognise the key later.' });
  const role = field({ label: 'Role', name: 'role', type: 'select', value: viewer ? 'viewer' : 'admin', disabled: viewer,
    options: [['admin', 'Admin — full access'], ['viewer', 'Viewer — read only']] });
  const exp = field({ label: 'Expires', name: 'expires_in', type: 'select', value: '2160h',
    options: [['720h', 'in 30 days'], ['2160h', 'in 90 days'], ['8760h', 'in 1 year'], ['', 'never']] });
  form.append(name, h('div', { class: 'form-grid' }, role, exp));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, 'Create key');
  const d = openDialog({ title: 'New API key', body: form, actions: [button('Cancel', () => d.close()), submit] });
  d.el.dataset.dialog = 'api-key';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { name: name.input.value.trim(), role: role.input.value };
    if (exp.input.value) body.expires_in = exp.input.value;
    try {
      const k = await busy(submit, post('/api/api-keys', body));
      d.close();
      showKeyOnce(k);
      onSaved();
    } catch (err) {
      showError(form, err);
    }
  });
}

export default async function apiKeysView(ctx) {
  const body = h('div');
  const newBtn = button('New API key', () => openKeyDialog(reload), { kind: 'primary', dataset: { action: 'new-key' } });
  mount(ctx.el, pageHeader('API keys', 'Keys for scripts and monitoring: Authorization: Bearer wgp_…', newBtn),
    settingsTabs('/settings/api-keys'), body);

  let list;
  async function reload() {
    list = await get('/api/api-keys', { signal: ctx.signal });
    draw();
  }
  try {
    await reload();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    newBtn.disabled = true;
    mount(body, notice(e.missing ? 'warn' : 'error', e.missing ? 'API keys are not available on this server yet.' : 'API keys could not be loaded.', e.message));
    return;
  }

  function draw() {
    if (!list.length) {
      mount(body, notice('empty', 'No API keys', 'Create a key to use the REST API from scripts.'));
      return;
    }
    const now = Date.now() / 1000;
    mount(body, h('section', { class: 'panel panel-flush' }, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, 'API keys'),
      h('thead', null, h('tr', null, ['Name', 'Key', 'Role', 'Expires', 'Created', 'Last used'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, list.map((k) => h('tr', { dataset: { keyId: k.id } },
        h('td', { class: 'card-title', 'data-label': 'Name' }, h('strong', null, k.name)),
        h('td', { 'data-label': 'Key' }, h('code', null, k.key_prefix)),
        h('td', { 'data-label': 'Role' }, k.role === 'admin' ? badge('admin', 'accent') : badge('viewer')),
        h('td', { 'data-label': 'Expires' }, k.expires_at ? (k.expires_at < now ? badge('expired', 'err') : fmtDate(k.expires_at)) : 'never'),
        h('td', { 'data-label': 'Created' }, fmtDate(k.created_at)),
        h('td', { 'data-label': 'Last used' }, k.last_used ? fmtAgo(k.last_used) : 'never'),
        h('td', { class: 'actions' }, button('Revoke', () => act(async () => {
          if (!await confirmDialog({ title: `Revoke “${k.name}”?`, message: 'Programs using this key lose access immediately.', confirmLabel: 'Revoke key', danger: true })) return;
          await del(`/api/api-keys/${k.id}`);
          toast(`API key “${k.name}” revoked.`);
          await reload();
        }), { small: true, kind: 'ghost', class: 'danger-text' })))))))));
  }
}
