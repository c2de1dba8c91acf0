// SPDX-License-Identifier: MIT
// /login — sign-in form; 429 shows the wait time and counts it down.

import { post } from '../api.js';
import { h, mount, field, showError, clearErrors, formError, notice, busy } from '../ui.js';
import { setSession, takeFlash } from '../app.js';

export default async function login(ctx) {
  const flash = takeFlash();
  const user = field({ label: 'Username', name: 'username', autocomplete: 'username', autofocus: true, spellcheck: 'false' });
  const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const wait = h('p', { class: 'rate-limit notice notice-warn', role: 'alert', hidden: true });
  const form = h('form', { novalidate: true, 'aria-labelledby': 'page-title' },
    flash ? notice('info', null, flash) : null,
    wait, user, pass, submit);

  let timer = 0;
  ctx.onDispose(() => clearInterval(timer));

  function rateLimited(seconds) {
    let left = seconds;
    submit.disabled = true;
    wait.hidden = false;
    const show = () => {
      wait.textContent = `Too many sign-in attempts from your address. Please wait ${left} second${left === 1 ? '' : 's'} before trying again.`;
    };
    show();
    clearInterval(timer);
    timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        wait.textContent = 'You can try to sign in again now.';
        submit.disabled = false;
        return;
      }
      show();
    }, 1000);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    clearErrors(form);
    const username = user.input.value.trim();
    const password = pass.input.value;
    try {
      const r = await busy(submit, post('/api/auth/login', { username, password }, { noAuthRedirect: true }));
      setSession({ user: r.user });
      const next = ctx.query.get('next');
      ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (err) {
      if (err.code === 'RATE_LIMITED') {
        formError(form, '');
        rateLimited(err.retryAfter || 60);
        return;
      }
      if (err.code === 'SETUP_ALREADY_COMPLETE' || err.code === 'SETUP_REQUIRED') {
        ctx.navigate('/setup', { replace: true });
        return;
      }
      showError(form, err);
      if (err.code === 'INVALID_CREDENTIALS') {
        pass.input.value = '';
        pass.input.focus();
      }
    }
  });

  mount(ctx.el, h('div', { class: 'auth-card' },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'wgpilot'),
    h('h1', { id: 'page-title', tabindex: '-1' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Manage your WireGuard networks and peers.'),
    form));
}
