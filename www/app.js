// SPDX-License-Identifier: MIT
// wgpilot web UI: router (history API), route guard (ui.md), layout.
// The route table is boot.js's; views live in /views/*.js and are loaded on
// demand; a route's first API requests start together with the view's code
// and the guard.

import { get, post, onAuthProblem, networks } from './api.js';
import { matchRoute, prefetchRoute, dropPrefetched } from './boot.js';
import { h, mount, clear, notice, button, statusDot, toast, skeleton } from './ui.js';

const NAV = [
  ['/', 'Dashboard', 'i-dash'],
  ['/networks', 'Networks', 'i-net'],
  ['/bridges', 'Bridges', 'i-bridge'],
  ['/audit-log', 'Audit log', 'i-log'],
  ['/settings', 'Settings', 'i-gear'],
];

// The version query this module was loaded with (/app.js?v=…, see
// www/stamp.sh): the views' URLs carry the same one.
const VERSION = new URL(import.meta.url).search;

const session = { setup: null, user: null, userKnown: false, flash: '' };
const mainEl = document.getElementById('main');
const sidebarEl = document.getElementById('sidebar');
const topbarEl = document.getElementById('topbar');
let current = null;           // the shown view: {controller, cleanups}
let navSeq = 0;
let firstRender = true;
let redirecting = false;

// ---------------------------------------------------------------------------
// navigation

export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, location.origin);
  const target = url.pathname + url.search + url.hash;
  if (replace) history.replaceState(null, '', target);
  else if (target !== location.pathname + location.search + location.hash) history.pushState(null, '', target);
  render();
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (/^\/(api\/|health$|metrics$)/.test(url.pathname)) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => render());

onAuthProblem((err) => {
  if (err.code === 'SETUP_REQUIRED') {
    session.setup = null;
    if (location.pathname !== '/setup') navigate('/setup', { replace: true });
    return;
  }
  if (location.pathname === '/login' || location.pathname === '/setup' || redirecting) return;
  redirecting = true;
  session.user = null;
  session.userKnown = true;
  session.flash = err.code === 'SESSION_EXPIRED' ? err.message : 'Please sign in to continue.';
  const next = location.pathname + location.search;
  queueMicrotask(() => {
    redirecting = false;
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  });
});

// ---------------------------------------------------------------------------
// guard

async function loadSetupStatus() {
  session.setup = await get('/api/setup/status', { noAuthRedirect: true });
  return session.setup;
}

async function loadUser() {
  try {
    const r = await get('/api/auth/me', { noAuthRedirect: true });
    session.user = r && r.user ? r.user : null;
  } catch (e) {
    if (e.status !== 401) throw e;
    session.user = null;
  }
  session.userKnown = true;
  return session.user;
}

/** Called by the login and setup views once they have a session. */
export function setSession({ user, setupComplete }) {
  if (user !== undefined) {
    session.user = user;
    session.userKnown = true;
    navBuilt = false;
  }
  if (setupComplete !== undefined && session.setup) session.setup.complete = setupComplete;
}

export function takeFlash() {
  const f = session.flash;
  session.flash = '';
  return f;
}

export function currentUser() {
  return session.user;
}

export function isViewer() {
  return session.user && session.user.role === 'viewer';
}

export async function logout() {
  try {
    await post('/api/auth/logout', undefined, { noAuthRedirect: true });
  } catch {
    // nothing to do: the server clears the cookie; offline, it expires on its own
  }
  session.user = null;
  session.userKnown = true;
  navBuilt = false;
  session.flash = 'You have been signed out.';
  navigate('/login', { replace: true });
}

// ---------------------------------------------------------------------------
// rendering

function dispose() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups.splice(0)) {
    try {
      fn();
    } catch (e) {
      console.warn('cleanup failed', e);
    }
  }
  current = null;
}

function errorView(container, err, retry) {
  const missing = err && err.missing;
  mount(container,
    h('div', { class: 'page-head' }, h('div', { class: 'page-title' },
      h('h1', { id: 'page-title', tabindex: '-1' }, missing ? 'Not available yet' : 'Something went wrong'))),
    notice(missing ? 'warn' : 'error',
      missing ? 'This part of wgpilot is not available on this server yet.' : 'The page could not be loaded.',
      err && err.message ? err.message : String(err),
      err && err.requestId ? ` Request id: ${err.requestId}.` : ''),
    h('p', null, button('Try again', retry, { kind: 'primary' })));
}

async function render() {
  const seq = ++navSeq;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  dispose();
  closeMenu();
  mainEl.setAttribute('aria-busy', 'true');
  delete mainEl.dataset.ready;
  delete mainEl.dataset.paintedAt;

  // Start loading the view's code and its first data while the guard asks
  // the server (not when the guard already knows it sends us elsewhere).
  const m = matchRoute(path);
  const modPromise = m ? import(`./views/${m.route.view}.js${VERSION}`) : null;
  if (modPromise) modPromise.catch(() => {}); // reported when awaited below
  if (!firstRender) { // the first page's data: requested by boot.js already
    dropPrefetched();
    const signedOut = session.userKnown && !session.user;
    const inSetup = session.setup && !session.setup.complete;
    if (!signedOut && !inSetup) prefetchRoute(m);
  }

  try {
    if (!session.setup || !session.setup.complete) {
      // first load: both guard questions at once
      // (a failed /api/auth/me is asked again below, and reported there)
      await Promise.all([loadSetupStatus(), session.userKnown ? null : loadUser().catch(() => null)]);
    }
  } catch (e) {
    if (seq !== navSeq) return;
    setLayout(true);
    errorView(mainEl, e, () => render());
    mainEl.setAttribute('aria-busy', 'false');
    return;
  }
  if (seq !== navSeq) return;

  if (!session.setup.complete) {
    if (path !== '/setup') {
      history.replaceState(null, '', '/setup');
      return render();
    }
  } else if (path === '/setup') {
    history.replaceState(null, '', '/');
    return render();
  }

  if (session.setup.complete) {
    if (!session.userKnown) {
      try {
        await loadUser();
      } catch (e) {
        if (seq !== navSeq) return;
        setLayout(true);
        errorView(mainEl, e, () => render());
        mainEl.setAttribute('aria-busy', 'false');
        return;
      }
      if (seq !== navSeq) return;
    }
    if (path === '/login' && session.user) {
      const next = query.get('next');
      history.replaceState(null, '', next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
      return render();
    }
    if (path !== '/login' && !session.user) {
      const next = path === '/' ? '' : `?next=${encodeURIComponent(path + location.search)}`;
      history.replaceState(null, '', `/login${next}`);
      return render();
    }
  }

  const route = m ? m.route : null;
  setLayout(!route || !!route.bare);
  if (route && !route.bare) updateNav();
  document.title = `${route ? route.title : 'Not found'} · wgpilot`;

  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const container = h('div', { class: 'view' });
  mount(mainEl, container);
  if (!firstRender) window.scrollTo(0, 0);
  // a placeholder only when the view is slow to arrive (no flicker)
  const placeholder = setTimeout(() => {
    if (!container.firstChild) mount(container, h('div', { class: 'page-loading', 'aria-hidden': 'true' }, skeleton(6)));
  }, 150);
  cleanups.push(() => clearTimeout(placeholder));

  const ctx = {
    el: container,
    params: m ? m.params : {},
    query,
    path,
    user: session.user,
    signal: controller.signal,
    navigate,
    setTitle(t) {
      document.title = `${t} · wgpilot`;
    },
    onDispose(fn) {
      if (controller.signal.aborted) fn();
      else cleanups.push(fn);
    },
    isCurrent: () => seq === navSeq,
    rerender: () => { if (seq === navSeq) render(); },
  };

  try {
    if (!route) {
      notFound(container);
    } else {
      const mod = await modPromise;
      if (seq !== navSeq) return;
      await mod.default(ctx);
    }
  } catch (e) {
    if (seq !== navSeq || (e && e.name === 'AbortError')) return;
    if (e && e.status === 401) return; // the auth handler redirects
    if (!(e && e.status)) console.error(e);
    errorView(container, e, () => render());
  }
  if (seq !== navSeq) return;
  clearTimeout(placeholder);
  mainEl.setAttribute('aria-busy', 'false');
  mainEl.dataset.ready = route ? route.view : 'notfound';
  mainEl.dataset.readyAt = String(Math.round(performance.now()));
  // and when that was on the screen: after the next frame (t/ui measures both)
  requestAnimationFrame(() => setTimeout(() => {
    if (seq === navSeq) mainEl.dataset.paintedAt = String(Math.round(performance.now()));
  }, 0));
  if (!container.contains(document.activeElement) && !document.querySelector('dialog[open]')) {
    const auto = container.querySelector('[autofocus]');
    const t = auto || (firstRender ? null : container.querySelector('#page-title') || mainEl);
    if (t) t.focus({ preventScroll: true });
  }
  firstRender = false;
}

function notFound(container) {
  mount(container,
    h('div', { class: 'page-head' }, h('div', { class: 'page-title' },
      h('h1', { id: 'page-title', tabindex: '-1' }, 'Page not found'))),
    notice('info', null, 'There is nothing at this address. ',
      h('a', { href: '/' }, 'Go to the dashboard'), '.'));
}

// ---------------------------------------------------------------------------
// layout: sidebar with the network list, top bar and menu on small screens

let navBuilt = false;
let navNetList = null;

function setLayout(bare) {
  document.body.classList.toggle('bare', !!bare);
  topbarEl.hidden = bare;
  sidebarEl.hidden = bare;
  if (!bare && !navBuilt) buildNav();
}

function icon(name) {
  return h('span', { class: ['nav-icon', name], 'aria-hidden': 'true' });
}

function buildNav() {
  navBuilt = true;
  const user = session.user || { username: '', role: '' };
  navNetList = h('ul', { class: 'nav-sub', 'aria-label': 'Networks' });
  const items = NAV.map(([href, label, ic]) => h('li', null,
    h('a', { href, class: 'nav-link', dataset: { nav: href } }, icon(ic), h('span', null, label)),
    href === '/networks' ? navNetList : null));
  mount(sidebarEl,
    h('a', { class: 'brand', href: '/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'wgpilot'),
    h('ul', { class: 'nav-list' }, items),
    h('div', { class: 'nav-foot' },
      h('div', { class: 'nav-user' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (user.username || '?').charAt(0).toUpperCase()),
        h('span', null, h('strong', { class: 'nav-username' }, user.username),
          h('span', { class: 'muted nav-role' }, user.role === 'viewer' ? 'viewer (read-only)' : user.role))),
      h('a', { href: '/settings/account', class: 'nav-small' }, 'Change password'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => logout() }, 'Sign out')));
  refreshNavNetworks();
}

async function refreshNavNetworks(force) {
  if (!navNetList) return;
  try {
    const list = await networks(force);
    clear(navNetList);
    for (const n of list.slice(0, 30)) {
      navNetList.appendChild(h('li', null, h('a', {
        href: `/networks/${n.id}`, class: 'nav-link nav-net', dataset: { nav: `/networks/${n.id}` },
      }, statusDot(n.enabled, n.enabled ? 'enabled' : 'disabled'), h('span', { class: 'ellipsis' }, n.name))));
    }
    if (list.length > 30) {
      navNetList.appendChild(h('li', null, h('a', { href: '/networks', class: 'nav-link nav-net muted' },
        `${list.length - 30} more…`)));
    }
    updateNav();
  } catch {
    clear(navNetList); // the current view reports errors itself
  }
}

document.addEventListener('wgp:networks-changed', () => refreshNavNetworks(false));

function updateNav() {
  const path = location.pathname;
  let best = null;
  for (const a of sidebarEl.querySelectorAll('a[data-nav]')) {
    const nav = a.dataset.nav;
    const match = nav === '/' ? (path === '/' || path === '/dashboard')
      : (path === nav || path.startsWith(`${nav}/`));
    if (match && (!best || nav.length > best.dataset.nav.length)) best = a;
    a.removeAttribute('aria-current');
  }
  if (best) best.setAttribute('aria-current', 'page');
}

// menu on small screens
const menuBtn = document.getElementById('menu-button');
const scrim = document.getElementById('scrim');

function closeMenu() {
  document.body.classList.remove('nav-open');
  menuBtn.setAttribute('aria-expanded', 'false');
  scrim.hidden = true;
}

menuBtn.addEventListener('click', () => {
  const open = !document.body.classList.contains('nav-open');
  document.body.classList.toggle('nav-open', open);
  menuBtn.setAttribute('aria-expanded', String(open));
  scrim.hidden = !open;
  if (open) {
    const first = sidebarEl.querySelector('a');
    if (first) first.focus();
  }
});
scrim.addEventListener('click', closeMenu);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && document.body.classList.contains('nav-open')) {
    closeMenu();
    menuBtn.focus();
  }
});

window.addEventListener('unhandledrejection', (e) => {
  const err = e.reason;
  if (err && err.name === 'ApiError') {
    e.preventDefault();
    if (err.status !== 401) toast(err.message, 'error');
  }
});

render();
