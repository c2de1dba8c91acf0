// SPDX-License-Identifier: MIT
// /settings — server identity and e-mail (SMTP) settings (api.md §9).

import { get, put } from '../api.js';
import { h, mount, pageHeader, field, showError, clearErrors, busy, toast, notice, uid, toggle } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { isViewer } from '../app.js';

const MASK = '********';

export default async function settingsView(ctx) {
  const ro = isViewer();
  let cur = await get('/api/settings', { signal: ctx.signal });
  const v = (k) => (cur[k] === undefined || cur[k] === null ? '' : String(cur[k]));

  function section(title, desc, fields, extra) {
    const form = h('form', { novalidate: true, id: uid('settings') });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', disabled: ro }, 'Save');
    form.append(...fields.map((f) => f.el || f), ...(extra || []), h('div', { class: 'form-actions' }, submit));
    for (const el of form.querySelectorAll('input, select, textarea')) if (ro) el.disabled = true;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {};
      for (const f of fields) if (f.read) Object.assign(body, f.read());
      if (!Object.keys(body).length) {
        toast('Nothing changed.', 'info');
        return;
      }
      try {
        cur = await busy(submit, put('/api/settings', body));
        for (const f of fields) if (f.reset) f.reset();
        toast(`${title} settings saved.`);
      } catch (err) {
        showError(form, err);
      }
    });
    return h('section', { class: 'panel' }, h('h2', { class: 'panel-title' }, title), desc ? h('p', { class: 'muted' }, desc) : null, form);
  }

  // a text setting: only sent when it changed
  function text(key, label, opts = {}) {
    const f = field({ label, name: key, value: v(key), spellcheck: 'false', ...opts });
    return {
      el: f,
      read: () => (f.input.value.trim() !== v(key) ? { [key]: f.input.value.trim() } : {}),
      reset: () => { f.input.value = v(key); },
    };
  }

  const detected = v('detected_public_ip');
  const ipField = text('public_ip', 'Public IP address', {
    placeholder: detected || '203.0.113.45',
    hint: detected ? `The endpoint written into peer configs. Detected address: ${detected}.` : 'The endpoint written into peer configs.',
  });
  const server = section('Server', 'How devices reach this server. Changes apply to configs downloaded afterwards.', [
    ipField,
    text('hostname', 'Hostname', { optional: true, placeholder: 'vpn.example.com', hint: 'A domain name pointing here; enables a Let’s Encrypt certificate.' }),
    text('dns_servers', 'Default DNS servers', { placeholder: '1.1.1.1,8.8.8.8', hint: 'Used for networks created from now on; up to 3, comma-separated.' }),
  ]);

  // SMTP password: never shown; empty input keeps the stored one
  const passSet = v('smtp_pass') === MASK;
  const pass = field({ label: 'SMTP password', name: 'smtp_pass', type: 'password', autocomplete: 'new-password', optional: true,
    placeholder: passSet ? 'stored — leave empty to keep it' : '', hint: 'Stored encrypted on the server.' });
  const clearPass = passSet ? toggle('Remove the stored password', false, null, { name: 'smtp_pass_clear' }) : null;
  const passField = {
    el: h('div', null, pass, clearPass),
    read: () => {
      if (clearPass && clearPass.querySelector('input').checked) return { smtp_pass: '' };
      return pass.input.value ? { smtp_pass: pass.input.value } : {};
    },
    reset: () => {
      pass.input.value = '';
      if (clearPass) clearPass.querySelector('input').checked = false;
    },
  };
  const tls = toggle('Use TLS (STARTTLS)', v('smtp_tls') !== 'false', null, { name: 'smtp_tls' });
  const tlsField = {
    el: h('div', { class: 'field', dataset: { field: 'smtp_tls' } }, tls, h('p', { class: 'field-error' })),
    read: () => {
      const on = tls.querySelector('input').checked ? 'true' : 'false';
      const was = v('smtp_tls') || 'true';
      return on !== was ? { smtp_tls: on } : {};
    },
  };
  const host = text('smtp_host', 'SMTP host', { placeholder: 'smtp.example.com' });
  const port = text('smtp_port', 'Port', { placeholder: '587', inputmode: 'numeric' });
  const user = text('smtp_user', 'Username', { optional: true, autocomplete: 'off' });
  const from = text('smtp_from', 'Sender address', { placeholder: 'wgpilot@example.com' });
  const to = text('alert_email', 'Send alerts to', { placeholder: 'admin@example.com' });
  const smtpSection = section('E-mail (SMTP)', 'Used to send alert notifications. Without a host, alerts are only logged.', [
    { el: h('div', { class: 'form-grid' }, host.el, port.el), read: () => ({ ...host.read(), ...port.read() }), reset: () => { host.reset(); port.reset(); } },
    { el: h('div', { class: 'form-grid' }, user.el, passField.el), read: () => ({ ...user.read(), ...passField.read() }), reset: () => { user.reset(); passField.reset(); } },
    tlsField,
    { el: h('div', { class: 'form-grid' }, from.el, to.el), read: () => ({ ...from.read(), ...to.read() }), reset: () => { from.reset(); to.reset(); } },
  ]);

  mount(ctx.el,
    pageHeader('Settings', 'Server identity and notifications.'),
    settingsTabs('/settings'),
    ro ? notice('info', null, 'Your account is read-only: settings are shown but cannot be changed.') : null,
    server, smtpSection);
}
