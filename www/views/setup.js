// SPDX-License-Identifier: MIT
// /setup — the four-step first-run wizard (api.md §4), resuming at
// current_step; step 4 ends with the peer's config modal, then the dashboard.

import { get, post } from '../api.js';
import { h, mount, field, showError, clearErrors, setFieldError, formError, notice, busy, toast, button } from '../ui.js';
import { setSession } from '../app.js';
import { networkForm, TUNNELS, choiceGroup } from './forms.js';
import { openConfigModal } from './peerconfig.js';

const STEPS = ['Admin account', 'Server', 'First network', 'First peer'];

export default async function setup(ctx) {
  let status = await get('/api/setup/status', { noAuthRedirect: true });
  if (status.complete) {
    setSession({ setupComplete: true });
    ctx.navigate('/', { replace: true });
    return;
  }

  const progress = h('ol', { class: 'steps', 'aria-label': 'Setup progress' },
    STEPS.map((t, i) => h('li', { dataset: { step: i + 1 } }, h('span', { class: 'bar' }),
      h('span', null, h('span', { class: 'step-num' }, `${i + 1}. `), t))));
  const stepTitle = h('h2', { id: 'step-title', tabindex: '-1' });
  const body = h('div', { class: 'step-body' });
  mount(ctx.el, h('div', { class: 'wizard' }, h('div', { class: 'auth-card' },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'wgpilot'),
    h('h1', { id: 'page-title', tabindex: '-1' }, 'Set up wgpilot'),
    h('p', { class: 'muted' }, 'Four short steps: your admin account, how peers reach this server, the first network and the first device.'),
    progress, stepTitle, body)));

  let focusStep = false;
  function setStep(n, title) {
    for (const li of progress.children) {
      const k = Number(li.dataset.step);
      li.classList.toggle('done', k < n);
      if (k === n) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    }
    stepTitle.textContent = `Step ${n} of 4: ${title}`;
    ctx.el.dataset.step = String(n);
    if (focusStep) {
      const first = body.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
      (first || stepTitle).focus();
    }
    focusStep = true;
  }

  async function refresh() {
    status = await get('/api/setup/status', { noAuthRedirect: true });
    if (status.complete) {
      setSession({ setupComplete: true });
      ctx.navigate('/', { replace: true });
      return;
    }
    await show(status.current_step);
  }

  // Errors every step treats alike: wrong order → jump to the server's step.
  function stepError(form, err, extra) {
    if (err.code === 'STEP_ORDER_VIOLATION' || err.code === 'SETUP_ALREADY_COMPLETE') {
      toast(err.message, 'info');
      refresh();
      return;
    }
    if (err.status === 401 && err.code !== 'INVALID_OTP') {
      signIn(status.current_step);
      return;
    }
    if (extra && extra(err)) return;
    showError(form, err);
  }

  async function show(n) {
    if (n >= 2) {
      let me = null;
      try {
        me = (await get('/api/auth/me', { noAuthRedirect: true })).user;
      } catch (e) {
        if (e.status !== 401) throw e;
      }
      if (!me) {
        signIn(n);
        return;
      }
      setSession({ user: me });
    }
    if (n <= 1) step1();
    else if (n === 2) await step2();
    else if (n === 3) step3();
    else step4();
  }

  // --- resuming after a reload: the wizard needs the admin's session -----
  function signIn(n) {
    const user = field({ label: 'Username', name: 'username', autocomplete: 'username', value: 'admin' });
    const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in and continue');
    const form = h('form', { novalidate: true },
      notice('info', null, `Step 1 is done. Sign in with the admin account you created to continue at step ${n}.`),
      user, pass, submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        const r = await busy(submit, post('/api/auth/login', { username: user.input.value.trim(), password: pass.input.value }, { noAuthRedirect: true }));
        setSession({ user: r.user });
        await show(n);
      } catch (err) {
        showError(form, err);
      }
    });
    mount(body, form);
    setStep(n, 'Sign in to continue');
  }

  // --- step 1: admin account ------------------------------------------------
  function step1() {
    const otp = field({ label: 'One-time setup password', name: 'otp', autocomplete: 'one-time-code', spellcheck: 'false',
      hint: 'Printed by the installer (SETUP_TOKEN=… from “quickstart up”, or “One-time setup password:” from wgpilot init).' });
    const user = field({ label: 'Admin username', name: 'username', value: 'admin', autocomplete: 'username', spellcheck: 'false',
      hint: 'Letters, digits, _ and -.' });
    const pass = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password',
      hint: 'At least 10 characters.' });
    const again = field({ label: 'Repeat password', name: 'password_again', type: 'password', autocomplete: 'new-password' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create admin account');
    const form = h('form', { novalidate: true, dataset: { form: 'step1' } }, otp, user,
      h('div', { class: 'form-grid' }, pass, again), submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      if (pass.input.value !== again.input.value) {
        setFieldError(form, 'password_again', 'The two passwords differ.');
        formError(form, 'Some fields need attention (see the messages below them).');
        again.input.focus();
        return;
      }
      try {
        const r = await busy(submit, post('/api/setup/step/1', {
          otp: otp.input.value.trim(), username: user.input.value.trim(), password: pass.input.value,
        }, { noAuthRedirect: true }));
        setSession({ user: { role: 'admin', ...r.user } });
        toast('Admin account created.');
        await step2();
      } catch (err) {
        stepError(form, err, (x) => {
          if (x.code === 'INVALID_OTP') {
            showError(form, x);
            setFieldError(form, 'otp', 'This is not the one-time setup password.');
            otp.input.focus();
            return true;
          }
          return false;
        });
      }
    });
    mount(body, form);
    setStep(1, 'Admin account');
  }

  // --- step 2: server identity ----------------------------------------------
  async function step2() {
    let detected = '';
    try {
      detected = (await get('/api/setup/detect-ip', { noAuthRedirect: true })).public_ip || '';
    } catch {
      detected = '';
    }
    const ip = field({ label: 'Public IP address', name: 'public_ip', value: detected, spellcheck: 'false',
      placeholder: '203.0.113.45',
      hint: detected ? 'Detected automatically. Devices connect to this address; change it if they reach the server differently.'
        : 'The address devices use to reach this server. It could not be detected; enter it yourself.' });
    const host = field({ label: 'Hostname', name: 'hostname', optional: true, placeholder: 'vpn.example.com', spellcheck: 'false',
      hint: 'A domain name pointing to this server; it enables a Let’s Encrypt certificate.' });
    const dns = field({ label: 'DNS servers for peers', name: 'dns_servers', value: '1.1.1.1,8.8.8.8', spellcheck: 'false',
      hint: 'Up to 3 addresses, comma-separated. Used by the networks you create.' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save and continue');
    const form = h('form', { novalidate: true, dataset: { form: 'step2' } }, ip, host, dns, submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        await busy(submit, post('/api/setup/step/2', {
          public_ip: ip.input.value.trim(), hostname: host.input.value.trim(), dns_servers: dns.input.value.trim(),
        }, { noAuthRedirect: true }));
        step3();
      } catch (err) {
        stepError(form, err);
      }
    });
    mount(body, form);
    setStep(2, 'Server');
  }

  // --- step 3: first network (or import) --------------------------------------
  function step3() {
    const f = networkForm(null, { setup: true, defaultName: 'Home VPN' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create network');
    const form = h('form', { novalidate: true, dataset: { form: 'step3' } }, f.el, submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        const r = await busy(submit, post('/api/setup/step/3', f.read(), { noAuthRedirect: true }));
        toast(`Network “${r.network.name}” is up on ${r.network.interface}.`);
        step4(r.network);
      } catch (err) {
        stepError(form, err);
      }
    });
    const ifs = Array.isArray(status.wg_interfaces) ? status.wg_interfaces : [];
    mount(body, ifs.length ? importOffer(ifs) : null,
      ifs.length ? h('h3', { class: 'or-new' }, 'Or create a new network') : null, form);
    setStep(3, 'First network');
  }

  function importOffer(ifs) {
    const names = ifs.map((i) => (typeof i === 'string' ? i : `${i.name}${i.device_type ? ` (${i.device_type}${i.up ? ', up' : ', down'})` : ''}`));
    const cfg = field({ label: 'WireGuard configuration file', name: 'config', type: 'textarea', rows: 8, spellcheck: 'false',
      placeholder: '[Interface]\nPrivateKey = …\nAddress = 10.0.0.1/24\nListenPort = 51820\n\n[Peer]\nPublicKey = …\nAllowedIPs = 10.0.0.2/32',
      hint: 'Paste the server file, e.g. the contents of /etc/wireguard/wg0.conf. Imported peers keep working but have no downloadable config.' });
    const name = field({ label: 'Network name', name: 'name', optional: true, value: 'Imported Network' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Import');
    const form = h('form', { novalidate: true, hidden: true, class: 'import-form', dataset: { form: 'import' } }, name, cfg,
      h('div', { class: 'form-actions' }, submit));
    const toggleBtn = button('Import an existing configuration…', () => {
      form.hidden = !form.hidden;
      toggleBtn.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) cfg.input.focus();
    }, { small: true, kind: 'ghost' });
    toggleBtn.setAttribute('aria-expanded', 'false');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        const r = await busy(submit, post('/api/setup/import', { config: cfg.input.value, name: name.input.value.trim() }, { noAuthRedirect: true }));
        toast(`Imported ${r.interface} with ${r.peers_imported} peer${r.peers_imported === 1 ? '' : 's'}.`);
        const net = await get(`/api/networks/${r.network_id}`, { noAuthRedirect: true }).catch(() => ({ id: r.network_id, name: name.input.value || 'Imported Network' }));
        step4(net);
      } catch (err) {
        stepError(form, err);
      }
    });
    return h('div', { class: 'notice notice-info' },
      h('strong', null, 'Existing WireGuard interfaces were found on this host'),
      h('p', null, `${names.join(', ')}. You can import an existing setup instead of creating a new network.`),
      toggleBtn, form);
  }

  // --- step 4: first peer ----------------------------------------------------------
  function step4(network) {
    const name = field({ label: 'Device name', name: 'name', placeholder: 'e.g. my-phone', spellcheck: 'false',
      hint: 'Letters, digits, spaces, _ and -.' });
    const role = field({ label: 'Role', name: 'role', type: 'select', value: 'client',
      options: [['client', 'Client (a phone, laptop or server)'], ['site-gateway', 'Site gateway (router for a whole LAN)']] });
    const tunnel = choiceGroup('Tunnel type', 'tunnel_type', TUNNELS, 'full');
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create peer and finish');
    const form = h('form', { novalidate: true, dataset: { form: 'step4' } },
      network && network.name ? h('p', { class: 'muted' }, `The peer joins “${network.name}”. Keepalive is set to 25 seconds so it stays reachable behind NAT.`) : null,
      name, role, tunnel, submit);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        const r = await busy(submit, post('/api/setup/step/4', {
          name: name.input.value.trim(), role: role.input.value, tunnel_type: tunnel.value(),
        }, { noAuthRedirect: true }));
        setSession({ setupComplete: true });
        submit.disabled = true;
        openConfigModal({
          peer: r.peer,
          networkId: r.peer.network_id,
          config: r.config,
          qrData: r.qr_data,
          intro: 'Setup is complete. Add this configuration to your first device now — you can show it again later from the peer’s page.',
          onClose: () => ctx.navigate('/', { replace: true }),
        });
      } catch (err) {
        stepError(form, err);
      }
    });
    mount(body, form);
    setStep(4, 'First peer');
  }

  focusStep = false;
  await show(status.current_step);
}
