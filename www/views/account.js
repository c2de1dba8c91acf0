// SPDX-License-Identifier: MIT
// /settings/account — change the own password (api.md §3).  The server
// clears the session cookie afterwards, so the user signs in again.

import { put } from '../api.js';
import { h, mount, pageHeader, field, showError, clearErrors, setFieldError, formError, busy, toast, details, badge } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { currentUser, setSession } from '../app.js';

export default async function accountView(ctx) {
  const me = currentUser() || {};
  const old = field({ label: 'Current password', name: 'old_password', type: 'password', autocomplete: 'current-password' });
  const pw = field({ label: 'New password', name: 'new_password', type: 'password', autocomplete: 'new-password', hint: 'At least 10 characters.' });
  const again = field({ label: 'Repeat new password', name: 'new_password_again', type: 'password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password');
  const form = h('form', { novalidate: true, dataset: { form: 'password' } }, old, h('div', { class: 'form-grid' }, pw, again),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (pw.input.value !== again.input.value) {
      setFieldError(form, 'new_password_again', 'The two passwords differ.');
      formError(form, 'Some fields need attention (see the messages below them).');
      return;
    }
    try {
      await busy(submit, put('/api/auth/password', { old_password: old.input.value, new_password: pw.input.value }, { noAuthRedirect: true }));
      toast('Password changed. Sign in with your new password.');
      setSession({ user: null });
      ctx.navigate('/login', { replace: true });
    } catch (err) {
      if (err.code === 'INVALID_CREDENTIALS') {
        showError(form, err);
        setFieldError(form, 'old_password', 'This is not your current password.');
        old.input.focus();
        return;
      }
      showError(form, err);
    }
  });

  mount(ctx.el,
    pageHeader('Account', 'Your sign-in details.'),
    settingsTabs('/settings/account'),
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel' }, h('h2', { class: 'panel-title' }, 'Signed in as'),
        details([['Username', me.username], ['Role', me.role === 'admin' ? badge('admin', 'accent') : badge(me.role || 'viewer')]])),
      h('section', { class: 'panel' }, h('h2', { class: 'panel-title' }, 'Change password'), form)));
}
