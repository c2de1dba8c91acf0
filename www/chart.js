// SPDX-License-Identifier: MIT
// Transfer chart in plain inline SVG (no library).  Input: series of
// cumulative counters [{timestamp, transfer_rx, transfer_tx}] (stats API);
// drawn as bytes per time bucket, received and sent.

import { h, s, mount, fmtBytes } from './ui.js';

const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 26, left: 64 };

/** Sums the growth of every series into `count` buckets over [from, to]. */
export function bucketize(seriesList, from, to, count) {
  const width = (to - from) / count;
  const rx = new Array(count).fill(0);
  const tx = new Array(count).fill(0);
  let points = 0;
  for (const series of seriesList) {
    const pts = [...series].sort((a, b) => a.timestamp - b.timestamp);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1];
      const b = pts[i];
      if (b.timestamp < from || b.timestamp > to) continue;
      // A counter that went down was reset (interface recreated): the new
      // value is what was transferred since.
      const drx = b.transfer_rx >= a.transfer_rx ? b.transfer_rx - a.transfer_rx : b.transfer_rx;
      const dtx = b.transfer_tx >= a.transfer_tx ? b.transfer_tx - a.transfer_tx : b.transfer_tx;
      const k = Math.min(count - 1, Math.max(0, Math.floor((b.timestamp - from) / width)));
      rx[k] += drx;
      tx[k] += dtx;
      points += 1;
    }
  }
  return { rx, tx, width, points };
}

/** A round axis maximum in binary units (so labels read 2 MiB, 500 KiB). */
function niceMax(v) {
  if (v <= 0) return 1024;
  let p = 0;
  while (v / 1024 ** p >= 1000) p += 1;
  const scaled = v / 1024 ** p;
  for (const m of [1, 2, 4, 5, 10, 20, 40, 50, 100, 200, 400, 500, 1000]) {
    if (m >= scaled) return m * 1024 ** p;
  }
  return 1024 ** (p + 1);
}

function timeLabel(ts, span) {
  const d = new Date(ts * 1000);
  if (span > 2 * 86400) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * transferChart({series, from, to, buckets, label}) → element.
 * Redraws itself when its width changes.
 */
export function transferChart({ series, from, to, buckets = 48, label = 'Transfer' }) {
  const data = bucketize(series, from, to, buckets);
  const totalRx = data.rx.reduce((a, b) => a + b, 0);
  const totalTx = data.tx.reduce((a, b) => a + b, 0);
  const readout = h('span', { class: 'readout', 'aria-live': 'off' });
  const legend = h('div', { class: 'chart-legend' },
    h('span', { class: 'key rx' }, `Received ${fmtBytes(totalRx)}`),
    h('span', { class: 'key tx' }, `Sent ${fmtBytes(totalTx)}`),
    readout);
  const box = h('div', { class: 'chart' });
  const wrap = h('div', null, box, legend);

  if (data.points === 0) {
    mount(box, h('div', { class: 'chart-empty' },
      'No transfer history for this period yet. Snapshots are taken every 30 seconds while peers are connected.'));
    return wrap;
  }

  const span = to - from;
  const ymax = niceMax(Math.max(...data.rx, ...data.tx));

  function draw(width) {
    const w = Math.max(260, width);
    const iw = w - PAD.left - PAD.right;
    const ih = HEIGHT - PAD.top - PAD.bottom;
    const x = (i) => PAD.left + ((i + 0.5) / buckets) * iw;
    const y = (v) => PAD.top + ih - (v / ymax) * ih;
    const line = (vals) => vals.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
    const area = (vals) => `${line(vals)}L${x(buckets - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`;

    const grid = s('g', { class: 'grid' });
    const axis = s('g', { class: 'axis' });
    for (const f of [0, 0.5, 1]) {
      const yy = y(ymax * f);
      grid.appendChild(s('line', { x1: PAD.left, x2: w - PAD.right, y1: yy, y2: yy }));
      axis.appendChild(s('text', { x: PAD.left - 8, y: yy + 4, 'text-anchor': 'end' }, fmtBytes(ymax * f)));
    }
    const ticks = w < 480 ? 3 : 5;
    for (let t = 0; t < ticks; t++) {
      const ts = from + (span * t) / (ticks - 1);
      const xx = PAD.left + (iw * t) / (ticks - 1);
      const anchor = t === 0 ? 'start' : t === ticks - 1 ? 'end' : 'middle';
      axis.appendChild(s('text', { x: xx, y: HEIGHT - 6, 'text-anchor': anchor }, timeLabel(ts, span)));
    }
    const cursor = s('line', { class: 'cursor', x1: 0, x2: 0, y1: PAD.top, y2: PAD.top + ih, visibility: 'hidden' });
    const svg = s('svg', {
      viewBox: `0 0 ${w} ${HEIGHT}`, width: w, height: HEIGHT, role: 'img',
      'aria-label': `${label}: received ${fmtBytes(totalRx)}, sent ${fmtBytes(totalTx)}`,
    },
    grid,
    s('path', { class: 'rx-area', d: area(data.rx) }),
    s('path', { class: 'tx-area', d: area(data.tx) }),
    s('path', { class: 'rx-line', d: line(data.rx) }),
    s('path', { class: 'tx-line', d: line(data.tx) }),
    axis, cursor);

    svg.addEventListener('pointermove', (e) => {
      const r = svg.getBoundingClientRect();
      const px = ((e.clientX - r.left) / r.width) * w;
      const i = Math.floor(((px - PAD.left) / iw) * buckets);
      if (i < 0 || i >= buckets) {
        cursor.setAttribute('visibility', 'hidden');
        readout.textContent = '';
        return;
      }
      cursor.setAttribute('x1', x(i));
      cursor.setAttribute('x2', x(i));
      cursor.setAttribute('visibility', 'visible');
      const t0 = from + i * data.width;
      readout.textContent = `${timeLabel(t0, span > 2 * 86400 ? span : 0)}–${timeLabel(t0 + data.width, span > 2 * 86400 ? span : 0)}: ↓ ${fmtBytes(data.rx[i])} ↑ ${fmtBytes(data.tx[i])}`;
    });
    svg.addEventListener('pointerleave', () => {
      cursor.setAttribute('visibility', 'hidden');
      readout.textContent = '';
    });
    mount(box, svg);
  }

  let last = 0;
  const ro = new ResizeObserver((entries) => {
    const wdt = Math.round(entries[0].contentRect.width);
    if (wdt && Math.abs(wdt - last) > 2) {
      last = wdt;
      draw(wdt);
    }
  });
  ro.observe(box);
  draw(600);
  wrap.disconnect = () => ro.disconnect();
  return wrap;
}
