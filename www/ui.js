// SPDX-License-Identifier: MIT
// DOM helpers shared by every view.  Text reaches the page only through
// text nodes and textContent (CSP: no inline script; never innerHTML).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
  } else if (child instanceof Node) {
    el.appendChild(child);
  } else {
    el.appendChild(document.createTextNode(String(child)));
  }
}

function applyProps(el, props, svg) {
  if (!props) return;
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (!svg && (key === 'value' || key === 'checked' || key === 'selected' ||
                        key === 'disabled' || key === 'hidden' || key === 'multiple')) {
      el[key] = value;
    } else if (key === 'ref' && typeof value === 'function') {
      value(el);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** h('div', {class: 'x', onclick: fn}, 'text', child, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props, false);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props, true);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replaces the children of el. */
export function mount(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** Sets textContent only when it changes (no needless layout work). */
export function setText(el, text) {
  const t = String(text);
  if (el.textContent !== t) el.textContent = t;
}

let idSeq = 0;
export function uid(prefix = 'id') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// ---------------------------------------------------------------------------
// formatting

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(n) {
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

// Counts are grouped by hand: the first use of Intl (loading its locale
// data) costs tens of milliseconds on a slow machine, on the dashboard's
// critical path.
export function fmtNumber(n) {
  const v = Number(n || 0);
  if (!Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function fmtAgo(ts, now = Date.now() / 1000) {
  if (!ts) return 'never';
  const d = Math.max(0, Math.round(now - ts));
  if (d < 5) return 'just now';
  if (d < 60) return `${d} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86400)} d ago`;
}

let dateFmt = null; // made on first use, not at load (see fmtNumber)

export function fmtDate(ts) {
  if (ts === null || ts === undefined || ts === 0) return '—';
  if (!dateFmt) {
    dateFmt = new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
    });
  }
  return dateFmt.format(new Date(ts * 1000));
}

export function fmtIn(ts, now = Date.now() / 1000) {
  if (!ts) return 'never';
  const d = Math.round(ts - now);
  if (d <= 0) return `expired ${fmtAgo(ts, now)}`;
  if (d < 3600) return `in ${Math.max(1, Math.floor(d / 60))} min`;
  if (d < 86400) return `in ${Math.floor(d / 3600)} h`;
  return `in ${Math.floor(d / 86400)} days`;
}

// ---------------------------------------------------------------------------
// small widgets

export function statusDot(online, label) {
  return h('span', {
    class: ['dot', online ? 'dot-on' : 'dot-off'],
    role: 'img',
    'aria-label': label || (online ? 'online' : 'offline'),
    title: label || (online ? 'online' : 'offline'),
  });
}

export function setDot(el, online, label) {
  el.classList.toggle('dot-on', !!online);
  el.classList.toggle('dot-off', !online);
  const l = label || (online ? 'online' : 'offline');
  if (el.getAttribute('aria-label') !== l) {
    el.setAttribute('aria-label', l);
    el.setAttribute('title', l);
  }
}

export function badge(text, kind = '') {
  return h('span', { class: ['badge', kind && `badge-${kind}`] }, text);
}

export function button(label, onclick, opts = {}) {
  return h('button', {
    type: opts.type || 'button',
    class: ['btn', opts.kind ? `btn-${opts.kind}` : '', opts.small ? 'btn-sm' : '', opts.class],
    onclick,
    disabled: opts.disabled,
    title: opts.title,
    'aria-label': opts.ariaLabel,
    dataset: opts.dataset,
  }, label);
}

/** A page heading block with optional actions on the right. */
export function pageHeader(title, subtitle, ...actions) {
  return h('div', { class: 'page-head' },
    h('div', { class: 'page-title' },
      h('h1', { id: 'page-title', tabindex: '-1' }, title),
      subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

export function card(title, ...children) {
  return h('section', { class: 'panel' },
    title ? h('h2', { class: 'panel-title' }, title) : null, children);
}

/** A message block: kind is info | warn | error | empty. */
export function notice(kind, title, ...text) {
  return h('div', { class: ['notice', `notice-${kind}`], role: kind === 'error' ? 'alert' : null },
    title ? h('strong', null, title) : null,
    text.length ? h('p', null, text) : null);
}

export function skeleton(lines = 3) {
  const out = h('div', { class: 'skeleton', 'aria-hidden': 'true' });
  for (let i = 0; i < lines; i++) out.appendChild(h('div', { class: 'skeleton-line' }));
  return out;
}

/** Definition list from [label, value|Node] pairs. */
export function details(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.appendChild(h('dt', null, k));
    dl.appendChild(h('dd', null, v === null || v === '' ? '—' : v));
  }
  return dl;
}

/** A toggle switch bound to a boolean; onchange(newValue, input). */
export function toggle(label, checked, onchange, opts = {}) {
  const input = h('input', {
    type: 'checkbox', role: 'switch', class: 'switch-input', checked: !!checked,
    disabled: opts.disabled, name: opts.name, id: opts.id,
    'aria-label': opts.hideLabel ? label : null,
    onchange: onchange ? (e) => onchange(e.target.checked, e.target) : null,
  });
  return h('label', { class: ['switch', opts.hideLabel ? 'switch-bare' : ''] }, input,
    h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
    opts.hideLabel ? null : h('span', { class: 'switch-label' }, label));
}

// ---------------------------------------------------------------------------
// toasts

export function toast(message, kind = 'ok', ms) {
  const region = document.getElementById('toasts');
  if (!region) return;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const el = h('div', { class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : null },
    h('span', { class: 'toast-text' }, message), close);
  const remove = () => {
    el.classList.add('toast-out');
    setTimeout(() => el.remove(), 200);
  };
  close.addEventListener('click', remove);
  region.appendChild(el);
  while (region.children.length > 4) region.firstElementChild.remove();
  setTimeout(remove, ms || (kind === 'error' ? 9000 : 5000));
}

// ---------------------------------------------------------------------------
// dialogs: native <dialog> with showModal (inert background), an explicit
// focus trap, Escape to close and focus returned to the opener.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
  'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((e) => e.offsetParent !== null || e === document.activeElement);
}

/**
 * openDialog({title, body, actions, wide, onClose}) → {el, body, close}
 * body: Node or array; actions: array of buttons placed in the footer.
 */
export function openDialog({ title, description, body, actions, wide, onClose, label }) {
  const opener = document.activeElement;
  const titleId = uid('dlg-title');
  const closeBtn = h('button', { type: 'button', class: 'icon-btn dialog-x', 'aria-label': 'Close' }, '×');
  const bodyEl = h('div', { class: 'dialog-body' }, body);
  const foot = actions && actions.length ? h('div', { class: 'dialog-foot' }, actions) : null;
  const dlg = h('dialog', {
    class: ['dialog', wide ? 'dialog-wide' : ''],
    'aria-labelledby': titleId,
    'aria-label': label,
  },
  h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), closeBtn),
  description ? h('p', { class: 'dialog-desc muted' }, description) : null,
  bodyEl, foot);

  let closed = false;
  const close = (result) => {
    if (closed) return;
    closed = true;
    dlg.close();
    dlg.remove();
    if (opener && typeof opener.focus === 'function' && document.contains(opener)) opener.focus();
    if (onClose) onClose(result);
  };
  closeBtn.addEventListener('click', () => close());
  dlg.addEventListener('cancel', (e) => {
    e.preventDefault();
    close();
  });
  dlg.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
      return;
    }
    if (e.key !== 'Tab') return;
    const list = focusables(dlg);
    if (!list.length) return;
    const first = list[0];
    const last = list[list.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dlg.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !dlg.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  });
  // A click on the backdrop (the dialog element itself) closes.
  dlg.addEventListener('mousedown', (e) => {
    if (e.target === dlg) {
      const r = dlg.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) close();
    }
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  const auto = dlg.querySelector('[autofocus]') || focusables(bodyEl)[0] || closeBtn;
  auto.focus();
  return { el: dlg, body: bodyEl, close };
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    let result = false;
    const ok = button(confirmLabel, () => {
      result = true;
      d.close(true);
    }, { kind: danger ? 'danger' : 'primary' });
    const cancel = button('Cancel', () => d.close(false));
    const d = openDialog({
      title,
      body: h('p', null, message),
      actions: [cancel, ok],
      onClose: () => resolve(result),
    });
    ok.focus();
  });
}

// ---------------------------------------------------------------------------
// forms

/**
 * field({label, name, type, value, hint, options, placeholder, ...}) → wrapper
 * with an input, a hint and an error slot wired through aria-describedby.
 */
export function field(opts) {
  const id = opts.id || uid(`f-${opts.name}`);
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  let input;
  const common = {
    id, name: opts.name, disabled: opts.disabled, required: opts.required,
    autocomplete: opts.autocomplete, placeholder: opts.placeholder, readonly: opts.readonly,
    'aria-describedby': `${opts.hint ? hintId : ''} ${errId}`.trim(),
    autofocus: opts.autofocus, inputmode: opts.inputmode, spellcheck: opts.spellcheck,
  };
  if (opts.type === 'select') {
    input = h('select', common,
      (opts.options || []).map(([v, l]) => h('option', { value: v, selected: String(v) === String(opts.value) }, l)));
  } else if (opts.type === 'textarea') {
    input = h('textarea', { ...common, rows: opts.rows || 4 });
    input.value = opts.value ?? '';
  } else {
    input = h('input', {
      ...common, type: opts.type || 'text', min: opts.min, max: opts.max,
      maxlength: opts.maxlength, accept: opts.accept,
    });
    if (opts.value !== undefined && opts.value !== null) input.value = String(opts.value);
  }
  const wrap = h('div', { class: ['field', opts.class], dataset: { field: opts.name } },
    h('label', { for: id }, opts.label, opts.optional ? h('span', { class: 'opt' }, ' (optional)') : null),
    input,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
    h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' }));
  wrap.input = input;
  return wrap;
}

/** Clears every field error and the form-level error of form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.form-error')) {
    el.textContent = '';
    el.hidden = true;
  }
}

/** Shows a message under field name; returns false when there is no such field. */
export function setFieldError(form, name, message) {
  const wrap = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const err = wrap.querySelector('.field-error');
  err.textContent = message;
  const input = wrap.querySelector('input, select, textarea');
  if (input) input.setAttribute('aria-invalid', 'true');
  return true;
}

/** Form-level error line (created on demand at the top of form). */
export function formError(form, message) {
  let el = form.querySelector('.form-error');
  if (!el) {
    el = h('div', { class: 'form-error notice notice-error', role: 'alert' });
    form.insertBefore(el, form.firstChild);
  }
  el.textContent = message;
  el.hidden = !message;
}

/**
 * Maps an API error onto form: field errors next to their inputs (labels
 * given in aliases map API field names onto form field names), everything
 * else as a form-level message.  Focuses the first bad field.
 */
export function showError(form, err, aliases = {}) {
  clearErrors(form);
  const rest = [];
  let first = null;
  if (err && Array.isArray(err.fields) && err.fields.length) {
    for (const f of err.fields) {
      const name = aliases[f.field] || f.field;
      if (setFieldError(form, name, f.message)) {
        if (!first) first = form.querySelector(`.field[data-field="${CSS.escape(name)}"] input, .field[data-field="${CSS.escape(name)}"] select, .field[data-field="${CSS.escape(name)}"] textarea`);
      } else {
        rest.push(`${f.field}: ${f.message}`);
      }
    }
    formError(form, rest.length ? `Please correct: ${rest.join('; ')}` :
      'Some fields need attention (see the messages below them).');
  } else {
    formError(form, err && err.message ? err.message : String(err));
  }
  if (first) first.focus();
}

/** Disables a submit button while promise runs; shows a busy label. */
export async function busy(btn, promise) {
  const label = btn.textContent;
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  btn.classList.add('is-busy');
  try {
    return await promise;
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
    btn.classList.remove('is-busy');
    btn.textContent = label;
  }
}

// ---------------------------------------------------------------------------
// files and clipboard

/** Offers text or a Blob as a file download. */
export function download(filename, data, type = 'text/plain;charset=utf-8') {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection fallback (permission denied)
    }
  }
  const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** Reads a Blob as a data: URL (CSP allows data: images, not blob:). */
export function blobToDataURL(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error || new Error('could not read the image'));
    r.readAsDataURL(blob);
  });
}

/** Debounce fn by ms. */
export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
