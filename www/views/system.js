// SPDX-License-Identifier: MIT
// /settings/system — system information, health, backup download and
// restore upload (api.md §12, §13).

import { get, request, filenameOf, networksChanged } from '../api.js';
import { h, mount, pageHeader, notice, button, details, badge, busy, toast, confirmDialog, download, card, fmtBytes } from '../ui.js';
import { settingsTabs } from './tabs.js';
import { currentUser } from '../app.js';

export default async function systemView(ctx) {
  const admin = (currentUser() || {}).role === 'admin';
  const infoBody = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const healthBody = h('div', null, h('p', { class: 'muted' }, 'Loading…'));

  // --- backup
  const backupBtn = button('Download backup', async () => {
    try {
      const res = await busy(backupBtn, request('POST', '/api/system/backup', { as: 'response' }));
      const blob = await res.blob();
      const name = filenameOf(res, 'wgpilot-backup.db');
      download(name, blob);
      toast(`Backup ${name} (${fmtBytes(blob.size)}) downloaded.`);
    } catch (e) {
      toast(e.message, 'error');
    }
  }, { kind: 'primary', disabled: !admin, dataset: { action: 'backup' } });

  // --- restore
  const file = h('input', { type: 'file', accept: '.db,.sqlite,.sqlite3,application/octet-stream', 'aria-label': 'Backup file', disabled: !admin });
  const restoreResult = h('div', { 'aria-live': 'polite' });
  const restoreBtn = button('Restore…', async () => {
    const f = file.files && file.files[0];
    if (!f) {
      mount(restoreResult, notice('error', null, 'Choose a backup file first.'));
      return;
    }
    const ok = await confirmDialog({
      title: 'Restore this backup?',
      message: `Everything is replaced by the contents of ${f.name} (${fmtBytes(f.size)}): networks, peers, users and settings. WireGuard interfaces are rebuilt from it. Current data is lost unless you downloaded a backup first.`,
      confirmLabel: 'Restore backup',
      danger: true,
    });
    if (!ok) return;
    try {
      const r = await busy(restoreBtn, request('POST', '/api/system/restore', { raw: f }));
      networksChanged();
      mount(restoreResult, notice('info', 'Backup restored.', r && r.status ? `Server answer: ${r.status}.` : '', ' If your account changed with it, sign in again.'));
      toast('Backup restored.');
    } catch (e) {
      mount(restoreResult, notice('error', 'The backup was not restored.', e.message));
    }
  }, { kind: 'danger', disabled: !admin, dataset: { action: 'restore' } });

  mount(ctx.el,
    pageHeader('System', 'Version, health, backup and restore.'),
    settingsTabs('/settings/system'),
    h('div', { class: 'grid-2' }, card('System information', infoBody), card('Health', healthBody)),
    h('div', { class: 'grid-2 mt' },
      card('Backup', h('p', { class: 'muted' }, 'A consistent copy of the database. Keys in it are encrypted with this server’s master key (/etc/wgpilot/master.key): keep a copy of that file too, or the backup cannot be read elsewhere.'),
        admin ? null : notice('info', null, 'Only administrators can make and restore backups.'),
        h('div', { class: 'form-actions' }, backupBtn)),
      card('Restore', h('p', { class: 'muted' }, 'Upload a backup made by wgpilot (up to 64 MiB).'),
        h('div', { class: 'field' }, file), restoreResult, h('div', { class: 'form-actions' }, restoreBtn))));

  const [info, health] = await Promise.allSettled([
    get('/api/system/info', { signal: ctx.signal }),
    request('GET', '/health', { signal: ctx.signal, as: 'response', noAuthRedirect: true }).then((r) => r.json())
      .catch(async (e) => {
        // 503 carries a health body too
        if (e && e.status === 503) return { status: 'unhealthy', database: 'error' };
        throw e;
      }),
  ]);
  if (ctx.signal.aborted) return;

  if (info.status === 'fulfilled') {
    const i = info.value;
    mount(infoBody, details([
      ['Version', i.version],
      ['Operating system', i.os],
      ['Architecture', i.arch],
      ['Kernel', i.kernel],
      ['WireGuard backend', i.backend === 'userspace' ? 'userspace (wireguard-go)' : i.backend === 'kernel' ? 'Linux kernel module' : i.backend],
      ['Uptime', i.uptime],
      ['Memory (API worker)', i.memory && i.memory.rss_mb !== undefined ? `${Number(i.memory.rss_mb).toFixed(1)} MB` : '—'],
    ]));
  } else {
    const e = info.reason;
    mount(infoBody, notice(e.missing ? 'warn' : 'error', e.missing ? 'System information is not available on this server yet.' : 'System information could not be loaded.', e.message));
  }

  if (health.status === 'fulfilled') {
    const hh = health.value;
    const ok = hh.status === 'healthy';
    mount(healthBody, details([
      ['Status', ok ? badge('healthy', 'ok') : badge(hh.status || 'unknown', hh.status === 'degraded' ? 'warn' : 'err')],
      ['Networks', hh.networks ? `${hh.networks.total} total · ${hh.networks.healthy} healthy · ${hh.networks.degraded} degraded` : '—'],
      ['Database', hh.database === 'ok' ? 'ok' : (hh.database || '—')],
      ['Service uptime', hh.uptime || '—'],
      ['Metrics', h('a', { href: '/metrics', target: '_blank', rel: 'noopener' }, 'Prometheus metrics (/metrics)')],
    ]));
  } else {
    const e = health.reason;
    mount(healthBody, notice(e.missing ? 'warn' : 'error', e.missing ? 'The health endpoint is not available on this server yet.' : 'Health could not be read.', e.message));
  }
}
