// SPDX-License-Identifier: MIT
// Helpers of the browser tests (t/90-ui.sh): Chromium through
// playwright-core, result lines the shell script turns into TAP, console
// and CSP watching, screenshots in four variants.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const URL0 = process.env.WGP_URL || 'https://127.0.0.1:8443';
export const TMP = process.env.WGP_TMP || fs.mkdtempSync('/tmp/wgp-ui-');
export const SHOTS = process.env.WGP_SHOTS || path.join(TMP, 'shots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let failed = 0;

// ---------------------------------------------------------------------------
// results: "ok - …", "not ok - …", "# …" (t/90-ui.sh counts them)

export function ok(cond, desc, ...why) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${desc}`);
  if (!cond) {
    failed += 1;
    for (const w of why) if (w !== undefined && w !== '') diag(`  ${w}`);
  }
  return !!cond;
}

export function diag(msg) {
  for (const line of String(msg).split('\n')) console.log(`# ${line}`);
}

export function failures() {
  return failed;
}

/** Runs fn as one test; an exception is a failure with its message. */
export async function step(desc, fn, page) {
  try {
    const r = await fn();
    ok(true, desc);
    return r === undefined ? true : r;
  } catch (e) {
    ok(false, desc, (e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n'));
    if (page) {
      fs.mkdirSync(path.join(SHOTS, 'failures'), { recursive: true });
      const f = path.join(SHOTS, 'failures', `${desc.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}.png`);
      await page.screenshot({ path: f, fullPage: true }).catch(() => {});
      diag(`  page ${page.url()}; screenshot ${f}`);
      const notices = await page.$$eval('.notice-error, .field-error, .form-error, .toast', (els) => els.map((e) => e.textContent.trim()).filter(Boolean)).catch(() => []);
      if (notices.length) diag(`  messages on the page: ${notices.join(' | ')}`);
      // leave no dialog open behind: the next test starts from a usable page
      for (let i = 0; i < 3 && await page.$('dialog[open]').catch(() => null); i++) await page.keyboard.press('Escape').catch(() => {});
    }
    return false;
  }
}

// ---------------------------------------------------------------------------
// browser

// securitypolicyviolation is reported through console.error (caught by watch)
function CSP_WATCH() {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
  });
}

/**
 * A fresh Chromium profile (its own --user-data-dir) per phase, watching
 * console errors, page errors and CSP violations of every page.
 */
export async function launch(name) {
  const userDataDir = fs.mkdtempSync(path.join(TMP, `chromium-${name}-`));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: BROWSER_ARGS,
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    acceptDownloads: true,
    downloadsPath: path.join(TMP, 'downloads'),
  });
  const problems = [];
  const expected = [];
  const allowed = [];
  await context.addInitScript(CSP_WATCH);
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      const url = (m.location() && m.location().url) || '';
      // The browser logs every non-2xx fetch.  API answers the UI handles on
      // purpose (validation 400, guard 401, rate limit 429, missing
      // endpoints 404, conflicts 409) are counted, not failures.
      if (/^Failed to load resource: the server responded with a status of (400|401|403|404|409|429) /.test(text) &&
          /^https?:\/\/[^/]+\/(api\/|health$|metrics$)/.test(url)) {
        expected.push(`${text.replace(/^Failed to load resource: the server responded with a status of /, '')} ${url.replace(URL0, '')}`);
        return;
      }
      if (allowed.some((re) => re.test(text))) {
        expected.push(text.slice(0, 80));
        return;
      }
      problems.push(`console error: ${text} (${url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  const page = context.pages()[0] || await context.newPage();
  return {
    context,
    page,
    /** Watches a page of another context too (its CSP as well). */
    async watch(p) {
      await p.context().addInitScript(CSP_WATCH);
      watch(p);
    },
    /** Console errors matching re are expected until disallow(). */
    allow(re) {
      allowed.push(re);
    },
    disallow() {
      allowed.length = 0;
    },
    /** One result: no console error, page error or CSP violation so far. */
    report(phase) {
      ok(problems.length === 0, `${phase}: no console errors, page errors or CSP violations`, ...problems.slice(0, 10));
      if (expected.length) diag(`${phase}: ${expected.length} API error answers handled by the UI (e.g. ${[...new Set(expected)].slice(0, 4).join('; ')})`);
      problems.length = 0;
      expected.length = 0;
    },
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Cold loads of path in fresh browser contexts (own cache, own connections,
 * the given cookies), runs times.  "Interactive" is the app's own mark:
 * main[data-ready-at] = performance.now() when the view's data is rendered
 * and its controls work (app.js), i.e. from navigation start; "painted"
 * (data-painted-at) is the same after the next frame.  The wait
 * uses state "attached": a visibility check would make Playwright lay the
 * page out again and again while it loads (measured: 5–10 ms of the page's
 * main thread).  Also a warm load in the last context: assets from the
 * cache, only the API asked.  Console errors and CSP violations of these
 * pages count as problems of the phase (report()).
 */
export async function measureLoads(b, cookies, path, view, runs) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
  const cold = [];
  const painted = [];
  let warm = null;
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
      await context.addCookies(cookies);
      const page = await context.newPage();
      await b.watch(page);
      await page.goto(`${URL0}${path}`);
      await page.waitForSelector(`main[data-ready="${view}"]`, { state: 'attached', timeout: 20000 });
      cold.push(Number(await page.getAttribute('main', 'data-ready-at')));
      await page.waitForSelector('main[data-painted-at]', { state: 'attached', timeout: 5000 });
      painted.push(Number(await page.getAttribute('main', 'data-painted-at')));
      if (i === runs - 1) {
        // the same page opened again: every asset from the browser's cache
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.enable');
        const served = new Set();
        cdp.on('Network.requestServedFromCache', (e) => served.add(e.requestId));
        const network = [];
        cdp.on('Network.responseReceived', (e) => {
          if ((e.type === 'Script' || e.type === 'Stylesheet') && !e.response.fromDiskCache && !e.response.fromPrefetchCache &&
              !served.has(e.requestId)) network.push(e.response.url);
        });
        await page.goto('about:blank');
        await page.goto(`${URL0}${path}`);
        await page.waitForSelector(`main[data-ready="${view}"]`, { state: 'attached', timeout: 20000 });
        warm = { ms: Number(await page.getAttribute('main', 'data-ready-at')), assetsFromNetwork: network };
        await cdp.detach();
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  return { cold, median: median(cold), min: Math.min(...cold), max: Math.max(...cold), painted, paintedMedian: median(painted), warm };
}

/** Waits until the router finished rendering view (main[data-ready]). */
export async function ready(page, view, timeout = 15000) {
  await page.waitForSelector(`main[data-ready="${view}"]`, { timeout });
}

/** SPA navigation through history (like a click on a link). */
export async function go(page, to, view, timeout) {
  await page.evaluate((t) => {
    history.pushState(null, '', t);
    dispatchEvent(new PopStateEvent('popstate'));
  }, to);
  if (view) await ready(page, view, timeout);
}

const VARIANTS = [
  ['desktop', 1280, 800],
  ['phone', 390, 844],
];

/** Full-page PNGs at desktop and phone width, light and dark. */
export async function shoot(page, name, { only, fullPage = true } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const files = [];
  // toasts of earlier steps would cover the view; start at the top
  await page.evaluate(() => {
    for (const t of document.querySelectorAll('.toast')) t.remove();
    window.scrollTo(0, 0);
  });
  for (const [label, width, height] of VARIANTS) {
    if (only && only !== label) continue;
    await page.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(120);
      const f = path.join(SHOTS, `${name}-${label}-${scheme}.png`);
      await page.screenshot({ path: f, fullPage, animations: 'disabled', caret: 'hide' });
      files.push(f);
    }
  }
  if (!only) await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  return files;
}

/** Text of the field error under field name in the open form/dialog. */
export async function fieldError(page, name, scope = '') {
  const el = await page.waitForSelector(`${scope} .field[data-field="${name}"] .field-error:not(:empty)`, { timeout: 8000 });
  return (await el.textContent()).trim();
}

export function readJSON(f) {
  return JSON.parse(fs.readFileSync(f, 'utf8'));
}
