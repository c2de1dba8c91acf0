// SPDX-License-Identifier: MIT
// /settings/tls — certificate status and its test (api.md §9, cgi/tls.c).
//
// GET /api/settings/tls → {mode, domain, cert_expiry, issuer, last_test,
// fallback, cert_error?}.  last_test is the tls_status object the root job
// shares with the API: "test_requested_at" while a test is queued, then the
// job's "ok", "at" and "message".  POST …/test → 202 {"status":"queued"}.

import { get, post } from '../api.js';
import { h, mount, pageHeader, notice, button, details, fmtDate, fmtIn, fmtAgo, badge, busy, toast } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { isViewer } from '../app.js';

const MODES = {
  'self-signed': 'Self-signed certificate (browsers show a warning)',
  acme: 'Let’s Encrypt (ACME), renewed automatically',
  manual: 'Certificate provided by the administrator',
};
const POLL_MS = 5000;

/** The test's state in words: {state: 'queued'|'passed'|'failed'|'never', text}. */
export function testState(t) {
  if (!t || typeof t !== 'object') return { state: 'never', text: 'never run' };
  const queued = typeof t.test_requested_at === 'number';
  const done = typeof t.ok === 'boolean';
  const result = done
    ? `${t.ok ? 'passed' : 'failed'}${t.at ? ` on ${fmtDate(t.at)}` : ''}${t.message ? `: ${t.message}` : ''}`
    : '';
  if (queued) {
    return {
      state: 'queued',
      text: `queued ${fmtAgo(t.test_requested_at)}, waiting for the server to run it${result ? ` (last result: ${result})` : ''}`,
    };
  }
  if (done) return { state: t.ok ? 'passed' : 'failed', text: result };
  return { state: 'never', text: 'never run' };
}

export default async function tlsView(ctx) {
  const ro = isViewer();
  const body = h('div');
  mount(ctx.el, pageHeader('TLS', 'The HTTPS certificate of this web interface.'), settingsTabs('/settings/tls'), body);

  let timer = 0;
  ctx.onDispose(() => clearTimeout(timer));

  async function load() {
    return get('/api/settings/tls', { signal: ctx.signal });
  }

  let st;
  try {
    st = await load();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    mount(body, notice(e.missing ? 'warn' : 'error',
      e.missing ? 'TLS status is not available on this server yet.' : 'The TLS status could not be loaded.', e.message));
    return;
  }

  const test = button('Test TLS now', async () => {
    try {
      await busy(test, post('/api/settings/tls/test'));
      toast('TLS test queued. The result appears here when the server has run it.', 'info');
    } catch (e) {
      if (e.name === 'AbortError') return;
      mount(testError, notice('error', 'The TLS test could not be queued.', e.message,
        e.requestId ? ` Request id: ${e.requestId}.` : ''));
      return;
    }
    mount(testError);
    refresh();
  }, { kind: 'primary', disabled: ro, dataset: { action: 'tls-test' } });
  const testError = h('div', { class: 'tls-test-error' });

  async function refresh() {
    clearTimeout(timer);
    try {
      st = await load();
    } catch (e) {
      if (e.name === 'AbortError') return;
      mount(testError, notice('error', 'The TLS status could not be reloaded.', e.message));
      return;
    }
    draw();
  }

  function draw() {
    const now = Date.now() / 1000;
    const expiry = st.cert_expiry;
    const soon = expiry && expiry - now < 14 * 86400;
    const t = testState(st.last_test);
    const testBadge = t.state === 'queued' ? badge('queued', 'accent') : t.state === 'passed' ? badge('passed', 'ok')
      : t.state === 'failed' ? badge('failed', 'err') : null;
    // while queued: the button waits too, and the page asks again until the job answered
    test.disabled = ro || t.state === 'queued';
    test.textContent = t.state === 'queued' ? 'Test queued…' : 'Test TLS now';
    if (t.state === 'queued' && ctx.isCurrent()) timer = setTimeout(refresh, POLL_MS);

    mount(body,
      st.cert_error ? notice('error', 'The certificate cannot be read.',
        `${st.cert_error}. Browsers may be shown another certificate, or none; check the TLS settings of the configuration.`) : null,
      st.fallback ? notice('warn', 'Using the self-signed certificate instead.',
        `The Let’s Encrypt certificate${st.domain ? ` for ${st.domain}` : ''} is not there (yet), so the self-signed one is served. Browsers show a warning until it is obtained.`) : null,
      h('section', { class: 'panel', dataset: { tls: 'status' } },
        h('h2', { class: 'panel-title' }, 'Certificate',
          !expiry ? null : expiry < now ? badge('expired', 'err') : soon ? badge('expires soon', 'warn') : badge('valid', 'ok')),
        details([
          ['Mode', MODES[st.mode] || st.mode || '—'],
          ['Domain', st.domain || '—'],
          ['Issuer', st.issuer || '—'],
          ['Valid until', expiry ? `${fmtDate(expiry)} (${fmtIn(expiry)})` : '—'],
          ['Last test', h('span', { dataset: { tlsTest: t.state } }, testBadge, testBadge ? ' ' : null, t.text)],
        ]),
        testError,
        h('div', { class: 'form-actions' }, test)),
      expiry && expiry < now ? notice('error', 'The certificate has expired.',
        'Browsers refuse the connection or show a warning. Renew it (ACME: run the test to see why renewal fails).') : null,
      st.mode === 'self-signed' ? notice('info', 'Want a trusted certificate?',
        'Set a hostname that points to this server under General settings; wgpilot then requests a Let’s Encrypt certificate.') : null);
  }
  draw();
}
