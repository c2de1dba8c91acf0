// SPDX-License-Identifier: MIT
// /settings/tls — certificate status and a test (api.md §9).

import { get, post } from '../api.js';
import { h, mount, pageHeader, notice, button, details, fmtDate, fmtIn, badge, busy, toast } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { isViewer } from '../app.js';

const MODES = {
  'self-signed': 'Self-signed certificate (browsers show a warning)',
  acme: 'Let’s Encrypt (ACME), renewed automatically',
  manual: 'Certificate provided by the administrator',
};

export default async function tlsView(ctx) {
  const ro = isViewer();
  const body = h('div');
  mount(ctx.el, pageHeader('TLS', 'The HTTPS certificate of this web interface.'), settingsTabs('/settings/tls'), body);

  let st;
  try {
    st = await get('/api/settings/tls', { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    mount(body, notice(e.missing ? 'warn' : 'error',
      e.missing ? 'TLS status is not available on this server yet.' : 'The TLS status could not be loaded.', e.message));
    return;
  }

  const now = Date.now() / 1000;
  const expiry = st.cert_expiry;
  const soon = expiry && expiry - now < 14 * 86400;
  const test = button('Test TLS now', async () => {
    try {
      await busy(test, post('/api/settings/tls/test'));
      toast('TLS test queued. Reload this page in a moment to see the result.', 'info');
    } catch (e) {
      toast(e.message, 'error');
    }
  }, { kind: 'primary', disabled: ro });
  const lastTest = st.last_test && typeof st.last_test === 'object'
    ? `${st.last_test.ok === false ? 'failed' : 'passed'}${st.last_test.at ? ` (${fmtDate(st.last_test.at)})` : ''}${st.last_test.message ? `: ${st.last_test.message}` : ''}`
    : typeof st.last_test === 'number' ? fmtDate(st.last_test) : (st.last_test || 'never');

  mount(body, h('section', { class: 'panel' },
    h('h2', { class: 'panel-title' }, 'Certificate',
      !expiry ? null : expiry < now ? badge('expired', 'err') : soon ? badge('expires soon', 'warn') : badge('valid', 'ok')),
    details([
      ['Mode', MODES[st.mode] || st.mode || '—'],
      ['Domain', st.domain || '—'],
      ['Issuer', st.issuer || '—'],
      ['Valid until', expiry ? `${fmtDate(expiry)} (${fmtIn(expiry)})` : '—'],
      ['Last test', lastTest],
    ]),
    h('div', { class: 'form-actions' }, test)),
  st.mode === 'self-signed' ? notice('info', 'Want a trusted certificate?',
    'Set a hostname that points to this server under General settings; wgpilot then requests a Let’s Encrypt certificate.') : null);
}
