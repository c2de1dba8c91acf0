// SPDX-License-Identifier: MIT
// Network and peer forms (ui.md "Network form", "Peer form"), used by the
// wizard, the network list, the network page and the peer page.

import { post, put, networksChanged } from '../api.js';
import { h, field, openDialog, button, showError, clearErrors, busy, toast, uid, fmtDate } from '../ui.js';

export const MODES = [
  ['gateway', 'Internet gateway',
    'Phones and laptops connect to this server and reach the internet or your home network through it. The usual VPN.'],
  ['site-to-site', 'Connect sites',
    'Each peer is a router in front of a whole local network (an office, a home). The server routes traffic between these networks.'],
  ['hub-routed', 'Private device network',
    'Devices reach each other through this server; their internet traffic keeps using their own connection.'],
];

export const MODE_FLAGS = {
  gateway: { nat: true, inter: false },
  'site-to-site': { nat: false, inter: false },
  'hub-routed': { nat: false, inter: true },
};

export function modeLabel(mode) {
  const m = MODES.find(([v]) => v === mode);
  return m ? m[1] : mode;
}

export const DEFAULTS = { subnet: '10.0.0.0/24', listen_port: 51820, dns: '1.1.1.1,8.8.8.8' };

function intOrRaw(v) {
  const t = String(v).trim();
  return /^\d+$/.test(t) ? Number(t) : t;
}

/** A radio group of cards; returns a fieldset with .value(). */
export function choiceGroup(legend, name, items, value, { disabled, onchange, columns } = {}) {
  const fs = h('fieldset', { class: 'field', dataset: { field: name } }, h('legend', null, legend));
  const grid = h('div', { class: ['choices', columns === 3 ? 'choices-3' : ''], role: 'radiogroup', 'aria-label': legend });
  const group = uid(`r-${name}`);
  for (const [v, title, desc] of items) {
    const input = h('input', { type: 'radio', name: group, value: v, checked: v === value, disabled });
    input.dataset.choice = name;
    if (onchange) input.addEventListener('change', () => onchange(v));
    grid.appendChild(h('label', { class: 'choice' }, input, h('div', null, h('strong', null, title), desc ? h('span', null, desc) : null)));
  }
  fs.appendChild(grid);
  fs.appendChild(h('p', { class: 'field-error', 'aria-live': 'polite' }));
  fs.value = () => {
    const c = grid.querySelector('input:checked');
    return c ? c.value : '';
  };
  return fs;
}

/** A checkbox styled as a switch that participates in field errors. */
function switchField(label, name, checked, hint) {
  const id = uid(`f-${name}`);
  const input = h('input', { type: 'checkbox', role: 'switch', class: 'switch-input', id, name, checked });
  const wrap = h('div', { class: 'field', dataset: { field: name } },
    h('label', { class: 'switch', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      h('span', { class: 'switch-label' }, label)),
    hint ? h('p', { class: 'hint' }, hint) : null,
    h('p', { class: 'field-error', 'aria-live': 'polite' }));
  wrap.input = input;
  return wrap;
}

/**
 * The fields of a network.  net: existing network (edit) or null (create).
 * opts.setup: wizard step 3 (no DNS field: it comes from step 2).
 */
export function networkForm(net, opts = {}) {
  const edit = !!net;
  const mode0 = net ? net.mode : 'gateway';
  const flags0 = MODE_FLAGS[mode0] || MODE_FLAGS.gateway;
  const name = field({ label: 'Name', name: 'name', value: net ? net.name : (opts.defaultName || ''), placeholder: 'Home VPN', autofocus: true,
    hint: 'Letters, digits, spaces, _ and -; up to 64 characters.' });
  const nat = switchField('NAT (masquerade)', 'nat_enabled', net ? net.nat_enabled : flags0.nat,
    'Peers’ traffic leaves the server with the server’s address. Needed to reach the internet.');
  const inter = switchField('Peers can reach each other', 'inter_peer_routing', net ? net.inter_peer_routing : flags0.inter,
    'Allow traffic between peers of this network.');
  const mode = choiceGroup('Mode', 'mode', MODES, mode0, {
    disabled: edit,
    columns: 3,
    onchange: (v) => {
      const f = MODE_FLAGS[v];
      nat.input.checked = f.nat;
      inter.input.checked = f.inter;
    },
  });
  const immut = edit ? 'Cannot be changed after the network is created.' : null;
  const subnet = field({ label: 'Subnet', name: 'subnet', value: net ? net.subnet : DEFAULTS.subnet, disabled: edit,
    hint: immut || 'Private IPv4 range, /16 to /30 (e.g. 10.0.0.0/24 holds 253 peers).', spellcheck: 'false' });
  const port = field({ label: 'Listen port (UDP)', name: 'listen_port', value: net ? net.listen_port : (opts.defaultPort || DEFAULTS.listen_port),
    disabled: edit, inputmode: 'numeric', hint: immut || '1024–65535; open it in your router or firewall.' });
  const dns = opts.setup ? null : field({ label: 'DNS servers', name: 'dns_servers', optional: true,
    value: net ? net.dns_servers : (opts.defaultDns ?? DEFAULTS.dns), placeholder: '1.1.1.1,8.8.8.8',
    hint: 'Up to 3 addresses, comma-separated, given to the peers.', spellcheck: 'false' });

  // MTU (feat-005): not part of the wizard; shown when the server has it
  const hasMtu = !opts.setup && (!net || net.mtu !== undefined);
  const MTU_HINT = '1420 suits most links (1500 − 80); PPPoE: 1412.';
  const mtu = hasMtu ? field({ label: 'MTU', name: 'mtu', inputmode: 'numeric', value: net && net.mtu ? net.mtu : 1420,
    hint: MTU_HINT }) : null;
  if (mtu) {
    const hint = mtu.querySelector('.hint');
    mtu.input.addEventListener('input', () => {
      const v = Number(mtu.input.value);
      const odd = Number.isFinite(v) && v > 0 && (v < 1380 || v > 1500);
      hint.textContent = odd ? `Unusual value: below 1380 or above 1500 often breaks connections. ${MTU_HINT}` : MTU_HINT;
      hint.classList.toggle('hint-warn', odd);
    });
  }

  const el = h('div', null, name, mode,
    h('div', { class: 'form-grid' }, subnet, port),
    h('div', { class: mtu ? 'form-grid' : '' }, dns, mtu),
    h('div', { class: 'form-grid' }, nat, inter));

  function read() {
    if (edit) {
      const out = {};
      if (name.input.value !== net.name) out.name = name.input.value.trim();
      if (dns && dns.input.value.trim() !== (net.dns_servers || '')) out.dns_servers = dns.input.value.trim();
      if (nat.input.checked !== !!net.nat_enabled) out.nat_enabled = nat.input.checked;
      if (inter.input.checked !== !!net.inter_peer_routing) out.inter_peer_routing = inter.input.checked;
      if (mtu && intOrRaw(mtu.input.value) !== net.mtu) out.mtu = intOrRaw(mtu.input.value);
      return out;
    }
    const out = {
      name: name.input.value.trim(),
      mode: mode.value(),
      subnet: subnet.input.value.trim(),
      listen_port: intOrRaw(port.input.value),
      nat_enabled: nat.input.checked,
      inter_peer_routing: inter.input.checked,
    };
    if (dns) out.dns_servers = dns.input.value.trim();
    // only when changed: servers without MTU support reject unknown fields
    if (mtu && String(mtu.input.value).trim() !== '1420') out.mtu = intOrRaw(mtu.input.value);
    return out;
  }
  return { el, read };
}

/** Create (net null) or edit a network in a dialog. */
export function openNetworkDialog(net, { onSaved, defaultPort } = {}) {
  const f = networkForm(net, { defaultPort });
  const form = h('form', { novalidate: true, id: uid('netform') }, f.el);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, net ? 'Save changes' : 'Create network');
  const d = openDialog({
    title: net ? `Edit ${net.name}` : 'New network',
    description: net ? null : 'A network is one WireGuard interface with its own address range, UDP port and keys.',
    body: form,
    wide: true,
    actions: [button('Cancel', () => d.close()), submit],
  });
  d.el.dataset.dialog = 'network';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = f.read();
    if (net && Object.keys(body).length === 0) {
      d.close();
      return;
    }
    try {
      const saved = await busy(submit, net ? put(`/api/networks/${net.id}`, body) : post('/api/networks', body));
      networksChanged();
      toast(net ? `Network “${saved.name}” saved.` : `Network “${saved.name}” created on ${saved.interface}.`);
      d.close();
      if (onSaved) onSaved(saved);
    } catch (err) {
      showError(form, err);
    }
  });
  return d;
}

// ---------------------------------------------------------------------------
// peers

export const EXPIRY = [
  ['', 'Never'],
  ['24h', '1 day'],
  ['168h', '7 days'],
  ['720h', '30 days'],
  ['2160h', '90 days'],
  ['8760h', '1 year'],
  ['custom', 'Custom…'],
];

export const TUNNELS = [
  ['full', 'Full tunnel', 'All traffic of the device goes through the VPN.'],
  ['split', 'Split tunnel', 'Only traffic for this network (and extra ranges you list) uses the VPN.'],
];

const KEEPALIVE_HINT = '25 for peers behind NAT, 0 disables.';

/**
 * Peer fields.  peer: existing peer (edit) or null (create).
 */
export function peerForm(peer) {
  const edit = !!peer;
  const name = field({ label: 'Name', name: 'name', value: peer ? peer.name : '', placeholder: 'e.g. alice-phone', autofocus: true,
    hint: 'Letters, digits, spaces, _ and -.' });
  const email = field({ label: 'E-mail', name: 'email', type: 'email', optional: true, value: peer ? peer.email : '',
    placeholder: 'alice@example.com', autocomplete: 'off' });
  const role = field({ label: 'Role', name: 'role', type: 'select', value: peer ? peer.role : 'client', disabled: edit,
    options: [['client', 'Client (a phone, laptop or server)'], ['site-gateway', 'Site gateway (router for a whole LAN)']],
    hint: edit ? 'The role cannot be changed after creation.' : null });
  const sites = field({ label: 'Site networks', name: 'site_networks', value: peer ? peer.site_networks : '', disabled: edit,
    placeholder: '192.168.10.0/24', hint: 'The LAN ranges behind this gateway, comma-separated.', spellcheck: 'false' });
  const keep = field({ label: 'Persistent keepalive (seconds)', name: 'persistent_keepalive', inputmode: 'numeric',
    value: peer ? peer.persistent_keepalive : 25, hint: KEEPALIVE_HINT });
  const tunnel = field({ label: 'Tunnel type', name: 'tunnel_type', type: 'select', value: peer ? (peer.tunnel_type || 'full') : 'full',
    options: [['full', 'Full tunnel (all traffic)'], ['split', 'Split tunnel (only VPN ranges)']],
    hint: 'Full: everything goes through the VPN. Split: only this network and the ranges below.' });
  const split = field({ label: 'Extra routed ranges', name: 'split_cidrs', optional: true, value: peer ? peer.split_cidrs : '',
    placeholder: '192.168.1.0/24', hint: 'Split tunnel only: more CIDRs sent through the VPN besides this network.', spellcheck: 'false' });
  const endpoint = edit ? field({ label: 'Endpoint', name: 'endpoint', optional: true, value: peer.endpoint,
    placeholder: 'host:port', hint: 'Only for peers the server should reach out to first.', spellcheck: 'false' }) : null;

  const expiryOpts = edit
    ? [['keep', peer.expires_at ? `Keep (expires ${fmtDate(peer.expires_at)})` : 'Keep (never expires)'], ...EXPIRY]
    : EXPIRY;
  const expiry = field({ label: 'Expires', name: 'expires_in', type: 'select', value: edit ? 'keep' : '', options: expiryOpts,
    hint: 'An expired peer is disabled automatically (not deleted).' });
  const custom = field({ label: 'Custom duration', name: 'expires_custom', placeholder: 'e.g. 36h, 2h30m, 45d',
    hint: 'Units: m, h, d (e.g. 720h = 30 days).', spellcheck: 'false' });

  const sync = () => {
    sites.hidden = role.input.value !== 'site-gateway';
    split.hidden = tunnel.input.value !== 'split';
    custom.hidden = expiry.input.value !== 'custom';
  };
  role.input.addEventListener('change', sync);
  tunnel.input.addEventListener('change', sync);
  expiry.input.addEventListener('change', () => {
    sync();
    if (!custom.hidden) custom.input.focus();
  });
  sync();

  const el = h('div', null,
    h('div', { class: 'form-grid' }, name, email, role, keep),
    sites,
    h('div', { class: 'form-grid' }, tunnel, expiry),
    split, custom, endpoint);

  function expiresIn() {
    const v = expiry.input.value;
    if (v === 'custom') return custom.input.value.trim();
    return v;
  }

  function read() {
    if (edit) {
      const out = {};
      if (name.input.value.trim() !== peer.name) out.name = name.input.value.trim();
      if (email.input.value.trim() !== (peer.email || '')) out.email = email.input.value.trim();
      const ka = intOrRaw(keep.input.value);
      if (ka !== peer.persistent_keepalive) out.persistent_keepalive = ka;
      if (tunnel.input.value !== (peer.tunnel_type || 'full')) out.tunnel_type = tunnel.input.value;
      if (split.input.value.trim() !== (peer.split_cidrs || '')) out.split_cidrs = split.input.value.trim();
      if (endpoint.input.value.trim() !== (peer.endpoint || '')) out.endpoint = endpoint.input.value.trim();
      if (expiry.input.value !== 'keep') out.expires_in = expiresIn();
      return out;
    }
    const out = {
      name: name.input.value.trim(),
      email: email.input.value.trim(),
      role: role.input.value,
      persistent_keepalive: intOrRaw(keep.input.value),
      tunnel_type: tunnel.input.value,
    };
    if (role.input.value === 'site-gateway') out.site_networks = sites.input.value.trim();
    if (tunnel.input.value === 'split' && split.input.value.trim()) out.split_cidrs = split.input.value.trim();
    const ex = expiresIn();
    if (ex) out.expires_in = ex;
    return out;
  }
  return { el, read };
}

/** Create or edit a peer in a dialog; onSaved(peer, created). */
export function openPeerDialog(network, peer, { onSaved } = {}) {
  const f = peerForm(peer);
  const form = h('form', { novalidate: true, id: uid('peerform') }, f.el);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id }, peer ? 'Save changes' : 'Create peer');
  const d = openDialog({
    title: peer ? `Edit ${peer.name}` : `New peer in ${network.name}`,
    description: peer ? null : 'The server creates the keys and the next free address; you get a QR code and a .conf file.',
    body: form,
    wide: true,
    actions: [button('Cancel', () => d.close()), submit],
  });
  d.el.dataset.dialog = 'peer';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = f.read();
    if (peer && Object.keys(body).length === 0) {
      d.close();
      return;
    }
    try {
      const base = `/api/networks/${network.id}/peers`;
      const saved = await busy(submit, peer ? put(`${base}/${peer.id}`, body) : post(base, body));
      networksChanged();
      toast(peer ? `Peer “${saved.name}” saved.` : `Peer “${saved.name}” created with address ${saved.allowed_ips.split(',')[0]}.`);
      d.close();
      if (onSaved) onSaved(saved, !peer);
    } catch (err) {
      showError(form, err);
      if (err.fields && err.fields.some((x) => x.field === 'expires_in') && expiryIsCustom(form)) {
        // the custom box carries the bad value: show the message there too
        const c = form.querySelector('.field[data-field="expires_custom"] .field-error');
        const m = err.fields.find((x) => x.field === 'expires_in');
        if (c && m) c.textContent = m.message;
      }
    }
  });
  return d;
}

function expiryIsCustom(form) {
  const s = form.querySelector('.field[data-field="expires_in"] select');
  return s && s.value === 'custom';
}
