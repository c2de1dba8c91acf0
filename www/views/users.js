// SPDX-License-Identifier: MIT
// /settings/users — user accounts (api.md §11; admins only).

import { get, post, del } from '../api.js';
import {
  h, mount, pageHeader, notice, button, field, openDialog, showError, clearErrors, busy, toast,
  confirmDialog, fmtDate, badge, uid, setFieldError, formError,
} from '../ui.js';
import { settingsTabs } from './tabs.js';
import { act } from './networks.js';
import { currentUser } from '../app.js';

function openUserDialog(onSaved) {
  const form = h('form', { novalidate: true, id: uid('userform') });
  const name = field({ label: 'Username', name: 'username', autocomplete: 'off', spellcheck: 'false', hint: 'Letters, digits, _ and -.' });
  const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', hint: 'At least 10 characters.' });
  const again = field({ label: 'Repeat password', name: 'password_again', type: 'password', autocomplete: 'new-password' });
  const role = field({ label: 'Role', name: 'role', type: 'select', value: 'viewer',
    options: [['viewer', 'Viewer — can look at everything, change nothing'], ['admin', 'Admin — full control']] });
  form.append(name, h('div', { class: 'form-grid' }, pass, again), role);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, 'Create user');
  const d = openDialog({ title: 'New user', body: form, actions: [button('Cancel', () => d.close()), submit] });
  d.el.dataset.dialog = 'user';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (pass.input.value !== again.input.value) {
      setFieldError(form, 'password_again', 'The two passwords differ.');
      formError(form, 'Some fields need attention (see the messages below them).');
      return;
    }
    try {
      const u = await busy(submit, post('/api/users', { username: name.input.value.trim(), password: pass.input.value, role: role.input.value }));
      toast(`User “${u.username || name.input.value}” created.`);
      d.close();
      onSaved();
    } catch (err) {
      showError(form, err);
    }
  });
}

export default async function usersView(ctx) {
  const me = currentUser() || {};
  const body = h('div');
  const newBtn = button('New user', () => openUserDialog(reload), { kind: 'primary', dataset: { action: 'new-user' } });
  mount(ctx.el, pageHeader('Users', 'People who can sign in to this wgpilot.', me.role === 'admin' ? newBtn : null),
    settingsTabs('/settings/users'), body);

  let list;
  async function reload() {
    list = await get('/api/users', { signal: ctx.signal });
    draw();
  }
  try {
    await reload();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    newBtn.disabled = true;
    const msg = e.code === 'FORBIDDEN' ? ['Only administrators can see and manage users.', ''] :
      e.missing ? ['User management is not available on this server yet.', e.message] : ['Users could not be loaded.', e.message];
    mount(body, notice(e.code === 'FORBIDDEN' ? 'info' : e.missing ? 'warn' : 'error', msg[0], msg[1]));
  }

  function draw() {
    mount(body, h('section', { class: 'panel panel-flush' }, h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
      h('caption', { class: 'sr-only' }, 'Users'),
      h('thead', null, h('tr', null, ['Username', 'Role', 'Created', 'Changed'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', null, list.map((u) => h('tr', { dataset: { userId: u.id } },
        h('td', { class: 'card-title', 'data-label': 'Username' }, h('strong', null, u.username), u.id === me.id ? h('span', { class: 'muted small' }, ' (you)') : null),
        h('td', { 'data-label': 'Role' }, u.role === 'admin' ? badge('admin', 'accent') : badge('viewer')),
        h('td', { 'data-label': 'Created' }, fmtDate(u.created_at)),
        h('td', { 'data-label': 'Changed' }, fmtDate(u.updated_at)),
        h('td', { class: 'actions' }, u.id === me.id ? h('a', { href: '/settings/account', class: 'btn btn-sm' }, 'Change password')
          : button('Delete', () => act(async () => {
            if (!await confirmDialog({ title: `Delete ${u.username}?`, message: 'The account and its API keys are removed; open sessions end when they expire.', confirmLabel: 'Delete user', danger: true })) return;
            await del(`/api/users/${u.id}`);
            toast(`User “${u.username}” deleted.`);
            await reload();
          }), { small: true, kind: 'ghost', class: 'danger-text' })))))))));
  }
}
