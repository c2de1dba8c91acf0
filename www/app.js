// SPDX-License-Identifier: MIT
// Landing page: shows whether the first-run wizard has been completed.
// Loaded as an ES module from index.html (no inline script: CSP script-src 'self').

const STATUS_URL = '/api/setup/status';

function show(text, kind) {
  const el = document.getElementById('setup-status');
  el.textContent = text;
  el.className = kind;
}

function describe(status) {
  if (status.complete === true) {
    return ['Setup is complete. Sign in through the API (POST /api/auth/login).', 'ok'];
  }
  const step = Number.isInteger(status.current_step) ? status.current_step : 1;
  return [`Setup is not complete yet: the wizard is at step ${step} of 4. ` +
          'Use the one-time setup password printed by the installer.', 'todo'];
}

async function loadStatus() {
  try {
    const res = await fetch(STATUS_URL, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const msg = body && body.error && body.error.message ? body.error.message : res.statusText;
      show(`Could not read the setup status (HTTP ${res.status}: ${msg}).`, 'error');
      return;
    }
    if (body === null || typeof body !== 'object') {
      show('Could not read the setup status (the answer was not JSON).', 'error');
      return;
    }
    const [text, kind] = describe(body);
    show(text, kind);
  } catch (err) {
    show(`Could not reach the API (${err.message}).`, 'error');
  }
}

loadStatus();
