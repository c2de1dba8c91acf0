// SPDX-License-Identifier: MIT
// Peer config modal: QR image (the server's 256×256 PNG, shown at 1:1 so a
// phone can scan it), download of the .conf and copy to the clipboard.

import { get, request } from '../api.js';
import { h, mount, openDialog, button, notice, toast, download, copyText, blobToDataURL } from '../ui.js';

export function confName(name) {
  return `wgpilot-${String(name || 'peer').replace(/[^A-Za-z0-9_-]/g, '-')}.conf`;
}

/**
 * openConfigModal({peer, networkId, config, qrData, onClose, intro})
 *   config/qrData (base64 PNG) given: shown as is (wizard step 4);
 *   otherwise both are fetched from …/peers/{id}/config and …/qr.
 */
export function openConfigModal({ peer, networkId, config, qrData, onClose, intro }) {
  const qrBox = h('div', { class: 'qr-frame', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  const pre = h('pre', { class: 'conf', tabindex: '0', 'aria-label': 'Configuration file' });
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  let text = config || '';
  const filename = confName(peer.name);

  const dl = button('Download .conf', () => {
    if (!text) return;
    download(filename, text);
    status.textContent = `Saved as ${filename}.`;
  }, { kind: 'primary', disabled: !text, dataset: { action: 'download-conf' } });
  const cp = button('Copy to clipboard', async () => {
    if (!text) return;
    const ok = await copyText(text);
    status.textContent = ok ? 'Configuration copied to the clipboard.' : 'Copying is not allowed here; select the text below and copy it.';
    if (ok) toast('Configuration copied to the clipboard.');
  }, { disabled: !text, dataset: { action: 'copy-conf' } });

  const show = h('details', null, h('summary', null, 'Show configuration text'), pre);
  const body = h('div', null,
    intro ? notice('info', null, intro) : null,
    h('div', { class: 'config-box' },
      qrBox,
      h('div', { class: 'config-side' },
        h('p', { class: 'muted small' }, 'Scan the QR code with the WireGuard app on a phone (“Add tunnel” → “Scan from QR code”), or download the file for a computer.'),
        dl, cp, status)),
    show,
    h('p', { class: 'hint' }, 'The file contains the private key of this peer. Keep it safe; anyone with it can join the network as this peer.'));

  const d = openDialog({
    title: `Configuration for ${peer.name}`,
    body,
    wide: true,
    actions: [button('Done', () => d.close(), { kind: 'primary' })],
    onClose,
  });
  d.el.dataset.dialog = 'peer-config';

  function setImage(src) {
    const img = h('img', { src, width: '256', height: '256', alt: `QR code with the WireGuard configuration of ${peer.name}` });
    mount(qrBox, img);
    qrBox.setAttribute('aria-busy', 'false');
  }
  function setText(t) {
    text = t;
    pre.textContent = t;
    dl.disabled = false;
    cp.disabled = false;
  }

  if (config) setText(config);
  if (qrData) setImage(`data:image/png;base64,${qrData}`);

  const base = `/api/networks/${networkId}/peers/${peer.id}`;
  if (!config) {
    get(`${base}/config`, { as: 'text' }).then(setText).catch((err) => {
      status.textContent = '';
      body.insertBefore(notice('error', 'The configuration could not be loaded.', err.message), body.firstChild);
    });
  }
  if (!qrData) {
    request('GET', `${base}/qr`, { as: 'blob' }).then(blobToDataURL).then(setImage).catch((err) => {
      mount(qrBox, notice('error', 'No QR code', err.message));
      qrBox.setAttribute('aria-busy', 'false');
    });
  }
  return d;
}
