import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { formatMs } from '../core/duration.js';
import { LatencyHistogram } from './histogram.js';
import type { LoadSummary } from './summary.js';

const requireCjs = createRequire(import.meta.url);

/** uPlot (MIT, ~50 KB minified, no dependencies), read from the installed package and inlined. */
async function uplotAssets(): Promise<{ js: string; css: string }> {
  const [js, css] = await Promise.all([
    readFile(requireCjs.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(requireCjs.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ]);
  return { js, css };
}

/** Text safe inside HTML. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element (no `</script>`, no HTML comment openers). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, '');
}

function n(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * One self-contained HTML page for a load run (or a merge of runs / a distributed run): the figures,
 * latency over time (p50/p99 per second), the percentile distribution on HdrHistogram's log scale,
 * throughput and errors over time, and per-worker (per-run) lines. Everything is inline: uPlot's JS
 * and CSS, the data, the drawing code; the page makes no network request.
 */
export async function renderHtmlReport(
  parts: readonly { name: string; summary: LoadSummary }[],
  merged: LoadSummary,
): Promise<string> {
  const { js, css } = await uplotAssets();
  const distribution = (s: LoadSummary) =>
    LatencyHistogram.decode(s.histogram)
      .distribution()
      .filter((p) => p.percentile < 100)
      .map((p) => [1 / (1 - p.percentile / 100), p.ms]);
  const workers =
    merged.workers ?? parts.map((p) => ({ name: p.name, ...p.summary, series: p.summary.series }));
  const data = {
    series: merged.series.map((p) => ({
      t: p.ts / 1000,
      p50: p.p50,
      p99: p.p99,
      rps: p.rps,
      errors: p.errors,
    })),
    distribution: [
      { name: parts.length > 1 ? 'all' : 'latency', points: distribution(merged) },
      ...(parts.length > 1 ? parts.map((p) => ({ name: p.name, points: distribution(p.summary) })) : []),
    ],
    // One line per worker (or per merged run); a single local run has nothing to compare.
    workers:
      workers.length < 2
        ? []
        : workers.map((w) => ({
            name: w.name,
            points: (w.series ?? []).map((p) => ({ t: p.ts / 1000, rps: p.rps, p99: p.p99 })),
          })),
  };
  const l = merged.latency;
  const ms = (v: number | null) => (v === null ? '–' : formatMs(v));
  const figures: [string, string][] = [
    ['calls', n(merged.requests)],
    ['throughput', `${n(merged.rps)} req/s`],
    ['errors', `${n(merged.errors)} (${merged.errorRate}%)`],
    ['p50', ms(l.p50)],
    ['p90', ms(l.p90)],
    ['p99', ms(l.p99)],
    ['p99.9', ms(l.p999)],
    ['max', ms(l.max)],
  ];
  const title = `${merged.operation} ${merged.target}`;
  const gates = merged.gates
    .map((g) => `<li class="${g.ok ? 'ok' : 'bad'}">${g.ok ? '✓' : '✗'} ${esc(g.message)}</li>`)
    .join('');
  const workerRows = (merged.workers ?? [])
    .map(
      (w) =>
        `<tr${w.lost ? ' class="bad"' : ''}><td>${esc(w.name)}${w.lost ? ' (lost mid-run)' : ''}</td><td>${n(w.requests)}</td><td>${n(w.errors)}</td><td>${n(w.rps)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>comms-cli load report: ${esc(title)}</title>
<style>${css}</style>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}
.meta{color:#5b6475;margin-bottom:14px}
.figures{display:flex;flex-wrap:wrap;gap:10px}
.fig{border:1px solid #d8dde6;border-radius:6px;padding:8px 12px;min-width:90px}
.fig b{display:block;font-size:18px}.fig span{color:#5b6475;font-size:12px}
.ok{color:#17803d}.bad{color:#b42318}ul.gates{list-style:none;padding:0}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e4e7ec;padding:4px 12px;text-align:right}
td:first-child,th:first-child{text-align:left}.chart{margin-top:6px}
.warn{background:#fef3f2;border:1px solid #fda29b;padding:8px 12px;border-radius:6px}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta">${esc(merged.transport ?? '')} · ${esc(merged.startedAt)} → ${esc(merged.endedAt)} · ${esc(formatMs(merged.durationMs))} · ${merged.mode} loop${merged.rate !== undefined ? ` at ${merged.rate}/s` : ''} · concurrency ${merged.concurrency} · exit ${merged.exit}</div>
${merged.partial ? `<p class="warn">Partial result: lost ${esc((merged.lost ?? []).join(', '))} mid-run; their share is left out of the figures.</p>` : ''}
<div class="figures">${figures.map(([k, v]) => `<div class="fig"><span>${k}</span><b>${esc(v)}</b></div>`).join('')}</div>
${gates ? `<ul class="gates">${gates}</ul>` : ''}
${workerRows ? `<h2>Workers</h2><table><tr><th>worker</th><th>calls</th><th>errors</th><th>req/s</th></tr>${workerRows}</table>` : ''}
<h2>Latency over time (per second)</h2><div id="latency" class="chart"></div>
<h2>Latency by percentile (HdrHistogram percentile distribution)</h2><div id="distribution" class="chart"></div>
<h2>Throughput and errors over time</h2><div id="throughput" class="chart"></div>
<div id="per-worker"></div>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>
const DATA = ${scriptJson(data)};
const COLORS = ['#2563eb','#dc2626','#16a34a','#9333ea','#ea580c','#0891b2','#ca8a04','#db2777'];
const width = () => Math.min(1100, document.body.clientWidth - 20);
const ms = (v) => v == null ? '' : v >= 1000 ? (v / 1000).toFixed(2) + 's' : (v >= 10 ? v.toFixed(0) : v.toFixed(1)) + 'ms';
function chart(el, series, data, opts, x) {
  return new uPlot(Object.assign({ width: width(), height: 280, series: [x || {}].concat(series),
    legend: { live: true } }, opts), data, document.getElementById(el));
}
const s = DATA.series;
chart('latency', [
  { label: 'p50', stroke: COLORS[0], width: 2, value: (u, v) => ms(v) },
  { label: 'p99', stroke: COLORS[1], width: 2, value: (u, v) => ms(v) },
], [s.map((p) => p.t), s.map((p) => p.p50), s.map((p) => p.p99)],
  { axes: [{ space: 110 }, { label: 'latency', values: (u, vs) => vs.map(ms), size: 70 }] });
// HdrHistogram's percentile plot: x is 1/(1-p) on a log scale, so 90%, 99%, 99.9% ... are evenly spaced.
const d0 = DATA.distribution[0].points;
const pct = (x) => (100 * (1 - 1 / x)).toFixed(Math.max(0, Math.round(Math.log10(x)) - 2)) + '%';
const decades = (u, splits) => splits.map((v) => { const e = Math.log10(v); return Math.abs(e - Math.round(e)) < 1e-6 ? pct(v) : ''; });
chart('distribution', DATA.distribution.map((d, i) => ({ label: d.name, stroke: COLORS[i % COLORS.length], width: 2, value: (u, v) => ms(v) })),
  [d0.map((p) => p[0])].concat(DATA.distribution.map((d) => d0.map((_, i) => d.points[i] ? d.points[i][1] : null))),
  { scales: { x: { time: false, distr: 3, log: 10 } },
    axes: [{ label: 'percentile', values: decades, space: 30 }, { label: 'latency', values: (u, vs) => vs.map(ms), size: 70 }] },
  { label: 'percentile', value: (u, v) => v == null ? '' : pct(v) });
chart('throughput', [
  { label: 'req/s', stroke: COLORS[2], width: 2, fill: 'rgba(22,163,74,0.08)', scale: 'rps' },
  { label: 'errors/s', stroke: COLORS[1], width: 2, scale: 'err' },
], [s.map((p) => p.t), s.map((p) => p.rps), s.map((p) => p.errors)],
  { scales: { err: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    axes: [{ space: 110 }, { scale: 'rps', label: 'req/s', size: 60 }, { scale: 'err', side: 1, label: 'errors/s', grid: { show: false } }] });
if (DATA.workers.length > 0) {
  const host = document.getElementById('per-worker');
  // Workers start at one agreed instant: put their points in one-second slots from the earliest.
  const t0 = Math.min(...DATA.workers.flatMap((w) => w.points.map((p) => p.t)));
  const slot = (t) => t0 + Math.round(t - t0);
  const times = [...new Set(DATA.workers.flatMap((w) => w.points.map((p) => slot(p.t))))].sort((a, b) => a - b);
  const at = (w, key) => times.map((t) => { const p = w.points.find((q) => slot(q.t) === t); return p ? p[key] : null; });
  for (const [key, title, fmt] of [['rps', 'Throughput per worker (req/s)', undefined], ['p99', 'p99 per worker', ms]]) {
    const h = document.createElement('h2'); h.textContent = title; host.appendChild(h);
    const div = document.createElement('div'); div.id = 'worker-' + key; div.className = 'chart'; host.appendChild(div);
    chart(div.id, DATA.workers.map((w, i) => ({ label: w.name, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, value: fmt ? (u, v) => fmt(v) : undefined })),
      [times].concat(DATA.workers.map((w) => at(w, key))),
      { axes: [{ space: 110 }, { values: fmt ? (u, vs) => vs.map(fmt) : undefined, size: 70 }] });
  }
}
</script>
</body></html>
`;
}
