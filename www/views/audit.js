// SPDX-License-Identifier: MIT
// /audit-log — who changed what (api.md §12): filters and pages, kept in
// the address so a filtered view can be bookmarked.

import { get } from '../api.js';
import { h, mount, pageHeader, notice, button, fmtDate, fmtNumber, setText, skeleton } from '../ui.js';

const ACTIONS = [
  'auth.login', 'auth.logout', 'auth.login_failed', 'auth.password_changed', 'setup.completed',
  'network.created', 'network.updated', 'network.deleted', 'network.enabled', 'network.disabled', 'network.imported',
  'peer.created', 'peer.updated', 'peer.deleted', 'peer.enabled', 'peer.disabled', 'peer.expired',
  'bridge.created', 'bridge.updated', 'bridge.deleted', 'alert.created', 'alert.updated', 'alert.deleted',
  'settings.updated', 'user.created', 'user.deleted', 'api_key.created', 'api_key.deleted',
  'backup.created', 'backup.restored',
];
const SIZES = [25, 50, 100, 200];

function toDateInput(ts) {
  if (!ts) return '';
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function fromDateInput(v, endOfDay) {
  if (!v) return 0;
  const [y, m, d] = v.split('-').map(Number);
  const t = new Date(y, m - 1, d, endOfDay ? 23 : 0, endOfDay ? 59 : 0, endOfDay ? 59 : 0);
  return Math.floor(t.getTime() / 1000);
}

function detailText(detail) {
  if (!detail) return '';
  try {
    const o = JSON.parse(detail);
    if (o && typeof o === 'object') {
      return Object.entries(o).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
    }
  } catch {
    // plain text detail
  }
  return String(detail);
}

export default async function auditView(ctx) {
  const q = ctx.query;
  const state = {
    action: q.get('action') || '',
    resource: q.get('resource') || '',
    from: Number(q.get('from')) || 0,
    to: Number(q.get('to')) || 0,
    size: SIZES.includes(Number(q.get('size'))) ? Number(q.get('size')) : 50,
    page: Math.max(0, Number(q.get('page')) || 0),
  };

  const action = h('select', { 'aria-label': 'Action' }, h('option', { value: '' }, 'All actions'),
    ACTIONS.map((a) => h('option', { value: a, selected: a === state.action }, a)));
  const resource = h('input', { type: 'search', placeholder: 'Resource, e.g. peer:5', 'aria-label': 'Resource', value: state.resource });
  const from = h('input', { type: 'date', 'aria-label': 'From date', value: toDateInput(state.from) });
  const to = h('input', { type: 'date', 'aria-label': 'To date', value: toDateInput(state.to) });
  const size = h('select', { 'aria-label': 'Entries per page' }, SIZES.map((n) => h('option', { value: n, selected: n === state.size }, `${n} per page`)));
  const apply = button('Apply', () => { state.page = 0; load(); }, { kind: 'primary' });
  const reset = button('Reset', () => {
    action.value = '';
    resource.value = '';
    from.value = '';
    to.value = '';
    state.page = 0;
    load();
  }, { kind: 'ghost' });
  for (const el of [action, size, from, to]) el.addEventListener('change', () => { state.page = 0; load(); });
  resource.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      state.page = 0;
      load();
    }
  });

  const tbody = h('tbody');
  const tableWrap = h('div', { class: 'table-wrap' }, h('table', { class: 'data cards-on-phone' },
    h('caption', { class: 'sr-only' }, 'Audit log'),
    h('thead', null, h('tr', null, ['Time', 'User', 'Action', 'Resource', 'Details', 'IP address'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const body = h('div', null, skeleton(6));
  const range = h('span', { class: 'muted small num', 'aria-live': 'polite' });
  const pageText = h('span', { class: 'small num' });
  const prev = button('← Newer', () => { state.page -= 1; load(); }, { small: true });
  const next = button('Older →', () => { state.page += 1; load(); }, { small: true });
  const pager = h('div', { class: 'pager' }, range, h('div', { class: 'pager-buttons' }, prev, pageText, next));

  mount(ctx.el,
    pageHeader('Audit log', 'Every change and sign-in, newest first.'),
    h('div', { class: 'toolbar' }, action, h('div', { class: 'grow' }, resource), h('label', { class: 'small muted' }, 'From ', from),
      h('label', { class: 'small muted' }, 'To ', to), size, apply, reset),
    h('section', { class: 'panel panel-flush' }, body, pager));

  // user names for the ids (admins only; others see numbers)
  const users = new Map();
  try {
    for (const u of await get('/api/users', { signal: ctx.signal, noAuthRedirect: true })) users.set(u.id, u.username);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
  }

  let seq = 0;
  async function load() {
    state.action = action.value;
    state.resource = resource.value.trim();
    state.from = fromDateInput(from.value, false);
    state.to = fromDateInput(to.value, true);
    state.size = Number(size.value);
    const params = new URLSearchParams();
    if (state.action) params.set('action', state.action);
    if (state.resource) params.set('resource', state.resource);
    if (state.from) params.set('from', String(state.from));
    if (state.to) params.set('to', String(state.to));
    const shown = new URLSearchParams(params);
    if (state.size !== 50) shown.set('size', String(state.size));
    if (state.page) shown.set('page', String(state.page));
    history.replaceState(null, '', `/audit-log${shown.toString() ? `?${shown}` : ''}`);
    params.set('limit', String(state.size));
    params.set('offset', String(state.page * state.size));
    const my = ++seq;
    let r;
    try {
      r = await get(`/api/audit-log?${params}`, { signal: ctx.signal });
    } catch (e) {
      if (e.name === 'AbortError' || my !== seq) return;
      mount(body, notice(e.missing ? 'warn' : 'error', e.missing ? 'The audit log is not available on this server yet.' : 'The audit log could not be loaded.', e.message));
      pager.hidden = true;
      return;
    }
    if (my !== seq) return;
    const entries = r.entries || [];
    const total = r.total || 0;
    tbody.replaceChildren(...entries.map((e) => {
      const text = detailText(e.detail);
      return h('tr', { dataset: { auditId: e.id } },
        h('td', { class: 'nowrap card-title', 'data-label': 'Time' }, fmtDate(e.timestamp)),
        h('td', { 'data-label': 'User' }, e.user_id === null || e.user_id === undefined ? h('span', { class: 'muted' }, 'system') : (users.get(e.user_id) || `user #${e.user_id}`)),
        h('td', { 'data-label': 'Action' }, h('code', null, e.action)),
        h('td', { 'data-label': 'Resource' }, e.resource),
        h('td', { 'data-label': 'Details', class: 'small', title: text }, text.length > 90 ? `${text.slice(0, 90)}…` : text || '—'),
        h('td', { 'data-label': 'IP address', class: 'nowrap' }, e.ip_address || '—'));
    }));
    if (!entries.length) {
      mount(body, notice('empty', null, total ? 'No entries on this page.' : 'No entries match these filters.'));
    } else {
      mount(body, tableWrap);
    }
    const pages = Math.max(1, Math.ceil(total / state.size));
    pager.hidden = false;
    setText(range, entries.length ? `${fmtNumber(state.page * state.size + 1)}–${fmtNumber(state.page * state.size + entries.length)} of ${fmtNumber(total)}` : `${fmtNumber(total)} entries`);
    setText(pageText, `Page ${state.page + 1} of ${pages}`);
    prev.disabled = state.page === 0;
    next.disabled = state.page + 1 >= pages;
  }
  await load();
}
