import { html } from './escape.js';
import type { CheckReport, ReportEvent, RunEvent, StepEvent } from './events.js';
import { failedStepOf, groupEvents, showValue, statusOf, timeOf } from './group.js';

/**
 * One self-contained HTML file: inline CSS and a few lines of inline JS, no URL of any kind (a
 * Content-Security-Policy forbids every load as well), so it opens from a CI artifact store offline.
 *
 * - Summary counts at the top, and filters (all / failed / passed / skipped).
 * - One section per file, one `<details>` per check (failed checks open), a one-line mini timeline
 *   in its summary, and inside a waterfall like a browser's network panel: one row per step, its bar
 *   placed by the step's start (`startedAt` less the check's) and sized by its `ms`.
 * - Compensation steps are amber with diagonal stripes, `finally` steps violet with vertical ones, failed steps red;
 *   each row opens to the step's command, error, expected/actual, attempts and JSON result.
 * - The check's trace id is shown (selectable in one click) with the failure.
 *
 * Every value is HTML-escaped (`://` too, so the file holds no literal URL).
 */
export function renderHtml(events: readonly ReportEvent[]): string {
  const { files, run } = groupEvents(events);
  const all = files.flatMap((f) => f.checks);
  const first = all.reduce(
    (min, c) => Math.min(min, timeOf(c.check.startedAt) ?? min),
    Number.POSITIVE_INFINITY,
  );
  const started = Number.isFinite(first) ? new Date(first).toISOString() : '';
  const verdict = run.failed > 0 ? 'failed' : 'passed';
  let n = 0;
  const sections = files.map((f) => {
    const checks = f.checks.map((c) => checkHtml(c, ++n)).join('\n');
    const failed = f.checks.filter((c) => statusOf(c.check) === 'failed').length;
    const note = failed > 0 ? `<span class="file-note failed">${failed} failed</span>` : '';
    return `<section class="file"><h2><span class="file-icon" aria-hidden="true">▤</span>${html(f.file)}${note}</h2>\n${checks}\n</section>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="comms-cli check">
<title>${html(titleOf(run))}</title>
<style>${CSS}</style>
</head>
<body data-filter="all">
<header class="top ${verdict}">
  <div class="headline">
    <h1><span class="verdict-dot" aria-hidden="true"></span>comms-cli check <span class="verdict">${verdict === 'failed' ? 'failed' : 'passed'}</span></h1>
    <div class="meta">${started ? `started <time datetime="${html(started)}">${html(started.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time> · ` : ''}${html(duration(run.ms))} total${run.interrupted ? ' · <b>interrupted</b>' : ''}${run.exit !== undefined ? ` · exit ${html(String(run.exit))}` : ''}</div>
  </div>
  <div class="summary" id="summary">
    ${countHtml('all', run.checks, 'checks')}
    ${countHtml('passed', run.passed, 'passed')}
    ${countHtml('failed', run.failed, 'failed')}
    ${countHtml('skipped', run.skipped, 'skipped')}
  </div>
  <div class="tools">
    <button type="button" data-expand="open">expand all</button>
    <button type="button" data-expand="close">collapse all</button>
    <span class="legend"><i class="sw main"></i>step <i class="sw bad"></i>failed <i class="sw compensate"></i>compensation <i class="sw finally"></i>finally</span>
  </div>
</header>
<main>
${sections.join('\n') || '<p class="empty">No checks ran.</p>'}
</main>
<footer>comms-cli check report · ${html(String(run.checks))} checks · times are wall-clock, retries and waits included</footer>
<script>${JS}</script>
</body>
</html>
`;
}

function titleOf(run: RunEvent): string {
  const parts = [`${run.passed} passed`];
  if (run.failed) parts.push(`${run.failed} failed`);
  if (run.skipped) parts.push(`${run.skipped} skipped`);
  return `comms-cli check: ${parts.join(', ')}`;
}

function countHtml(kind: string, value: number, label: string): string {
  return `<button type="button" class="count ${kind}" data-filter="${kind}" title="show ${kind === 'all' ? 'all checks' : `${label} checks`}"><b>${value}</b><span>${label}</span></button>`;
}

/** Where each step sits on the check's time axis, in ms from the check's start. */
interface Placed {
  step: StepEvent;
  start: number;
  /** Step index, for ids. */
  i: number;
}

function layout(report: CheckReport): { placed: Placed[]; span: number } {
  const checkStart = timeOf(report.check.startedAt);
  const firstStep = report.steps.reduce(
    (min, s) => Math.min(min, timeOf(s.startedAt) ?? min),
    Number.POSITIVE_INFINITY,
  );
  const origin = checkStart ?? (Number.isFinite(firstStep) ? firstStep : undefined);
  let cursor = 0; // steps without a usable start are laid end to end
  const placed = report.steps.map((step, i) => {
    const t = timeOf(step.startedAt);
    const start = t !== undefined && origin !== undefined ? Math.max(0, t - origin) : cursor;
    cursor = start + Math.max(0, step.ms);
    return { step, start, i };
  });
  const end = placed.reduce((max, p) => Math.max(max, p.start + Math.max(0, p.step.ms)), 0);
  return { placed, span: Math.max(report.check.ms, end, 1) };
}

function checkHtml(report: CheckReport, n: number): string {
  const { check } = report;
  const status = statusOf(check);
  const { placed, span } = layout(report);
  const id = `check-${n}`;
  const info: string[] = [];
  if (status === 'skipped') info.push(`skipped: ${check.skipped}`);
  else {
    info.push(`${check.steps} step${check.steps === 1 ? '' : 's'}`, duration(check.ms));
    if (status === 'failed') info.push(`exit ${check.exit}`);
  }
  const badge = { passed: '✓', failed: '✗', skipped: '−' }[status];
  const tags = (check.tags ?? []).map((t) => `<span class="tag">${html(t)}</span>`).join('');
  const mini =
    placed.length > 0
      ? `<span class="mini" aria-hidden="true">${placed.map((p) => bar(p, span, 'mini-bar', placed.length)).join('')}</span>`
      : '<span class="mini empty" aria-hidden="true"></span>';
  const summary = `<summary><span class="badge ${status}" title="${status}">${badge}</span><span class="cname" title="${html(check.name)}">${html(check.name)}${tags}</span>${mini}<span class="cinfo" title="${html(info.join(' · '))}">${html(info.join(' · '))}</span></summary>`;

  const body: string[] = [];
  if (status === 'skipped') {
    body.push(`<p class="skip-reason">Skipped: ${html(check.skipped ?? '')}</p>`);
  }
  if (status === 'failed') body.push(failureHtml(report));
  if (check.traceId) {
    body.push(
      `<p class="trace">trace id <code class="trace-id" title="select to copy">${html(check.traceId)}</code></p>`,
    );
  }
  if (placed.length > 0) body.push(waterfall(placed, span));
  else if (status !== 'skipped') body.push('<p class="no-steps">No step ran.</p>');

  const open = status === 'failed' ? ' open' : '';
  return `<details class="check ${status}" id="${id}" data-status="${status}"${open}>${summary}<div class="check-body">${body.join('\n')}</div></details>`;
}

function failureHtml(report: CheckReport): string {
  const { check } = report;
  const step = failedStepOf(report);
  const f = check.failure;
  const stepName = f?.step ?? step?.step ?? '(unknown step)';
  const message = f?.message ?? step?.result.error?.message ?? `exit ${check.exit}`;
  const expected = f?.expected !== undefined ? f.expected : step?.expected;
  const actual = f?.actual !== undefined ? f.actual : step?.actual;
  const path = f?.path ?? step?.path;
  const phase =
    step && step.phase !== 'main' ? ` <span class="phase-chip ${step.phase}">${step.phase}</span>` : '';
  const parts = [
    `<div class="failure" role="alert"><div class="failure-head">Failed at step <b>“${html(stepName)}”</b>${phase}</div>`,
    `<div class="failure-msg">${html(message)}</div>`,
  ];
  if (step?.command) parts.push(`<pre class="cmd">$ ${html(step.command)}</pre>`);
  if (expected !== undefined || actual !== undefined) {
    parts.push(
      `<div class="diff">${path !== undefined ? `<div class="diff-path">${html(path)}</div>` : ''}<div class="diff-col expected"><div class="diff-label">expected</div><pre>${html(pretty(expected))}</pre></div><div class="diff-col actual"><div class="diff-label">actual</div><pre>${html(pretty(actual))}</pre></div></div>`,
    );
  }
  parts.push('</div>');
  return parts.join('');
}

function waterfall(placed: readonly Placed[], span: number): string {
  const ticks = tickValues(span);
  const grid = ticks
    .map((t) => `<span class="tick" style="left:${pct(t, span)}%"><span>${html(duration(t))}</span></span>`)
    .join('');
  const rows = placed.map((p) => stepRow(p, span)).join('\n');
  // Grid lines behind the bars: a repeating gradient with the tick interval as its period.
  const every = ticks.length > 1 ? pct(ticks[1]!, span) : 100;
  return `<div class="waterfall" style="--tick:${every}%"><div class="wf-head"><span>phase</span><span>step</span><span class="axis">${grid}</span><span class="wf-ms">time</span></div><div class="wf-rows">${rows}</div></div>`;
}

function stepRow(p: Placed, span: number): string {
  const s = p.step;
  const ok = s.result.ok;
  const cls = `step ${s.phase} ${ok ? 'ok' : 'bad'}`;
  const phaseLabel = { main: 'step', compensate: '↺ compensate', finally: '⚑ finally' }[s.phase];
  const title = `${s.step}: +${duration(p.start)}, ${duration(s.ms)}${ok ? '' : `, exit ${s.result.exit}`}`;
  const row = `<summary class="row" title="${html(title)}"><span class="phase-chip ${s.phase}">${phaseLabel}</span><span class="sname">${ok ? '' : '<span class="x">✗</span>'}${html(s.step)}</span><span class="track">${bar(p, span, 'bar')}</span><span class="ms">${html(duration(s.ms))}</span></summary>`;
  return `<details class="${cls}"${ok ? '' : ' open'}>${row}${stepDetail(p)}</details>`;
}

/** A step's bar; in the mini timeline (`rows` given) each step gets its own thin lane, top to bottom. */
function bar(p: Placed, span: number, cls: string, rows?: number): string {
  const s = p.step;
  const left = pct(p.start, span);
  const width = Math.min(100 - left, pct(Math.max(0, s.ms), span));
  const lane = rows ? `;top:${round3((p.i / rows) * 100)}%;height:${round3(100 / rows)}%` : '';
  return `<span class="${cls} ${s.phase} ${s.result.ok ? 'ok' : 'bad'}" style="left:${left}%;width:${width}%${lane}"></span>`;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function stepDetail(p: Placed): string {
  const s = p.step;
  const rows: Array<[string, string]> = [];
  rows.push(['command', `<pre class="cmd">$ ${html(s.command)}</pre>`]);
  rows.push([
    'timing',
    html(`started +${duration(p.start)} · took ${duration(s.ms)} · exit ${s.result.exit}`),
  ]);
  if (s.result.error) {
    rows.push([
      'error',
      `<span class="kind">${html(s.result.error.kind)}</span> ${html(s.result.error.message)}${s.result.error.hint ? `<div class="hint">${html(s.result.error.hint)}</div>` : ''}`,
    ]);
  }
  if (s.path !== undefined) rows.push(['path', `<code>${html(s.path)}</code>`]);
  if (s.expected !== undefined) rows.push(['expected', `<pre>${html(pretty(s.expected))}</pre>`]);
  if (s.actual !== undefined) rows.push(['actual', `<pre>${html(pretty(s.actual))}</pre>`]);
  const attempts = s.result.attempts ?? [];
  if (attempts.length > 1 || (attempts.length === 1 && !attempts[0]!.ok)) {
    const items = attempts
      .map(
        (a) =>
          `<li class="${a.ok ? 'ok' : 'bad'}">#${html(String(a.n))} ${a.ok ? 'ok' : 'failed'}${a.status !== undefined ? ` ${html(String(a.status))}` : ''} · ${html(duration(a.ms))}${a.error ? ` · ${html(a.error.kind)}: ${html(a.error.message)}` : ''}</li>`,
      )
      .join('');
    rows.push(['attempts', `<ol class="attempts">${items}</ol>`]);
  }
  rows.push([
    'result',
    `<details class="json"><summary>JSON</summary><pre>${html(resultJson(s))}</pre></details>`,
  ]);
  return `<dl class="step-detail">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** The result as pretty JSON, cut at a size a browser shows without trouble. */
const RESULT_LIMIT = 16_000;

function resultJson(s: StepEvent): string {
  const text = pretty(s.result);
  return text.length > RESULT_LIMIT
    ? `${text.slice(0, RESULT_LIMIT)}\n… ${text.length - RESULT_LIMIT} more characters (see the json report)`
    : text;
}

function pretty(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? showValue(value);
  } catch {
    return showValue(value);
  }
}

function pct(ms: number, span: number): number {
  return Math.round((Math.max(0, Math.min(ms, span)) / span) * 100_000) / 1000;
}

/** Round tick marks (1, 2 or 5 times a power of ten) so the axis shows 3 to 6 of them, 0 included. */
function tickValues(span: number): number[] {
  const raw = span / 5;
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(Math.round(t * 1000) / 1000);
  return ticks;
}

/** `312ms`, `1.24s`, `2m 05s`. */
export function duration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Number.isInteger(v) ? v : Math.round(v)}ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(v / 60_000);
  const s = Math.round((v % 60_000) / 1000);
  return `${m}m ${String(s).padStart(2, '0')}s`;
}

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1f2328;--muted:#636c76;--line:#d8dee4;--soft:#eef1f4;
--ok:#1a7f37;--ok-bar:#2f9e5b;--bad:#cf222e;--bad-bg:#ffebe9;--skip:#8c959f;--main:#3b82f6;
--comp:#d97706;--comp-bg:#fff6e5;--fin:#8250df;--fin-bg:#f6f0ff;--label:230px;--phase:112px;--msw:70px;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--soft:#21262d;--bad-bg:#3a1d22;--comp-bg:#2e2110;--fin-bg:#241b3a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
code,pre,.cmd{font-family:ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
button{font:inherit;color:inherit;cursor:pointer}
.top{background:var(--card);border-bottom:1px solid var(--line);padding:18px 28px 14px;position:sticky;top:0;z-index:5}
.top.failed{box-shadow:inset 0 4px 0 var(--bad)}.top.passed{box-shadow:inset 0 4px 0 var(--ok)}
.headline{display:flex;align-items:baseline;gap:18px;flex-wrap:wrap}
h1{font-size:20px;margin:0;display:flex;align-items:center;gap:10px}
.verdict-dot{width:12px;height:12px;border-radius:50%;background:var(--ok)}
.top.failed .verdict-dot{background:var(--bad)}
.verdict{font-size:13px;font-weight:600;padding:2px 10px;border-radius:999px;background:#dafbe1;color:var(--ok)}
.top.failed .verdict{background:var(--bad-bg);color:var(--bad)}
.meta{color:var(--muted);font-size:13px}
.summary{display:flex;gap:10px;margin-top:14px;flex-wrap:wrap}
.count{display:flex;align-items:baseline;gap:6px;border:1px solid var(--line);background:var(--bg);border-radius:8px;padding:6px 14px;min-width:104px}
.count b{font-size:22px;font-weight:650}.count span{color:var(--muted)}
.count.passed b{color:var(--ok)}.count.failed b{color:var(--bad)}.count.skipped b{color:var(--skip)}
.count:hover{border-color:var(--muted)}
body[data-filter=all] .count.all,body[data-filter=passed] .count.passed,body[data-filter=failed] .count.failed,body[data-filter=skipped] .count.skipped{outline:2px solid var(--main);outline-offset:-1px}
.tools{display:flex;gap:8px;align-items:center;margin-top:12px;color:var(--muted);font-size:12.5px}
.tools button{background:none;border:1px solid var(--line);border-radius:6px;padding:2px 10px}
.legend{margin-left:auto;display:flex;gap:6px;align-items:center}
.sw{display:inline-block;width:18px;height:8px;border-radius:2px;margin-left:8px}
.sw.main{background:var(--ok-bar)}.sw.bad{background:var(--bad)}
.sw.compensate{background:repeating-linear-gradient(135deg,var(--comp) 0 4px,#f5b342 4px 8px)}
.sw.finally{background:repeating-linear-gradient(90deg,var(--fin) 0 6px,#b99af2 6px 8px)}
main{padding:18px 28px 8px;max-width:1500px}
.file{margin-bottom:22px}
h2{font-size:15px;margin:0 0 8px;font-weight:600;display:flex;align-items:center;gap:8px;font-family:ui-monospace,SFMono-Regular,"DejaVu Sans Mono",monospace}
.file-icon{color:var(--muted)}
.file-note{font:600 11.5px system-ui,sans-serif;padding:1px 8px;border-radius:999px}
.file-note.failed{background:var(--bad-bg);color:var(--bad)}
details.check{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 8px;overflow:hidden}
details.check.failed{border-color:#f1a7ad;border-left:4px solid var(--bad)}
details.check.passed{border-left:4px solid var(--ok)}
details.check.skipped{border-left:4px solid var(--skip)}
details.check>summary{display:grid;grid-template-columns:26px minmax(180px,1.2fr) minmax(120px,1fr) auto;gap:12px;align-items:center;padding:9px 14px;cursor:pointer;list-style:none}
summary::-webkit-details-marker{display:none}
details.check>summary:hover{background:var(--soft)}
.badge{display:inline-flex;width:22px;height:22px;border-radius:50%;align-items:center;justify-content:center;font-weight:700;font-size:13px;color:#fff}
.badge.passed{background:var(--ok)}.badge.failed{background:var(--bad)}.badge.skipped{background:var(--skip)}
.cname{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.tag{font-weight:500;font-size:11px;margin-left:8px;padding:0 7px;border-radius:999px;background:var(--soft);color:var(--muted);border:1px solid var(--line)}
.cinfo{color:var(--muted);font-size:12.5px;white-space:nowrap;text-align:right;min-width:150px;max-width:360px;overflow:hidden;text-overflow:ellipsis}
.mini{position:relative;height:16px;background:var(--soft);border-radius:4px;overflow:hidden}
.mini.empty{background:repeating-linear-gradient(90deg,var(--soft) 0 6px,transparent 6px 10px)}
.mini-bar{position:absolute;min-width:2px;background:var(--ok-bar);border-radius:1px;border-bottom:1px solid var(--card)}
.check-body{padding:4px 16px 14px 52px;border-top:1px solid var(--line)}
.skip-reason{color:var(--muted);margin:10px 0 4px}
.no-steps{color:var(--muted)}
.trace{margin:10px 0 8px;color:var(--muted);font-size:12.5px}
.trace-id{user-select:all;color:var(--fg);background:var(--soft);padding:2px 6px;border-radius:4px;border:1px solid var(--line)}
.failure{border:1px solid #f1a7ad;background:var(--bad-bg);border-radius:6px;padding:10px 12px;margin:12px 0 6px}
.failure-head{font-weight:600;color:var(--bad)}
.failure-msg{margin:4px 0 6px;white-space:pre-wrap;word-break:break-word}
.failure .cmd{background:rgba(127,127,127,.08);padding:6px 8px;border-radius:4px;margin:6px 0}
.diff{display:grid;grid-template-columns:1fr 1fr;gap:8px;margin-top:6px}
.diff-path{grid-column:1/-1;font-family:ui-monospace,monospace;font-size:12.5px;color:var(--muted)}
.diff-col{background:var(--card);border:1px solid var(--line);border-radius:4px;padding:6px 8px}
.diff-label{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin-bottom:2px}
.diff-col.expected pre{color:var(--ok)}.diff-col.actual pre{color:var(--bad)}
.waterfall{margin-top:10px;border:1px solid var(--line);border-radius:6px;overflow:hidden}
.wf-head,.step>summary.row{display:grid;grid-template-columns:var(--phase) var(--label) 1fr var(--msw);gap:10px;align-items:center;padding:0 10px}
.wf-head{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);background:var(--soft);height:26px;border-bottom:1px solid var(--line)}
.wf-ms,.ms{text-align:right}
.axis{position:relative;height:100%}
.tick{position:absolute;top:0;bottom:0;border-left:1px solid var(--line)}
.tick span{position:absolute;top:6px;left:4px;white-space:nowrap;text-transform:none;letter-spacing:0}
.step{border-bottom:1px solid var(--soft)}
.step:last-child{border-bottom:0}
.step>summary.row{height:30px;cursor:pointer;list-style:none;position:relative}
.step>summary.row:hover{background:var(--soft)}
.step.compensate>summary.row{background:var(--comp-bg)}
.step.finally>summary.row{background:var(--fin-bg)}
.step.bad>summary.row{background:var(--bad-bg)}
.phase-chip{font-size:11px;font-weight:600;padding:1px 8px;border-radius:999px;justify-self:start;white-space:nowrap;background:var(--soft);color:var(--muted)}
.phase-chip.compensate{background:#fde7c2;color:#8a4b00}
.phase-chip.finally{background:#e9dcff;color:#5a2fb0}
.sname{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:13px}
.x{color:var(--bad);font-weight:700;margin-right:5px}
.track{position:relative;align-self:stretch;background:repeating-linear-gradient(to right,var(--line) 0 1px,transparent 1px var(--tick,100%))}
.bar{position:absolute;top:8px;bottom:8px;min-width:3px;border-radius:3px;background:var(--ok-bar)}
.bar.bad,.mini-bar.bad{background:var(--bad)}
.bar.compensate,.mini-bar.compensate{background:repeating-linear-gradient(135deg,var(--comp) 0 5px,#f5b342 5px 10px)}
.bar.compensate.bad{background:repeating-linear-gradient(135deg,var(--bad) 0 5px,var(--comp) 5px 10px)}
.bar.finally,.mini-bar.finally{background:var(--fin)}
.bar.finally{background:repeating-linear-gradient(90deg,var(--fin) 0 6px,#b99af2 6px 8px)}
.bar.finally.bad{background:repeating-linear-gradient(90deg,var(--bad) 0 6px,var(--fin) 6px 8px)}
.ms{font-variant-numeric:tabular-nums;color:var(--muted);font-size:12.5px}
.step-detail{display:grid;grid-template-columns:90px 1fr;gap:4px 12px;margin:0;padding:8px 12px 10px calc(10px + var(--phase) + 10px);border-top:1px dashed var(--line);font-size:13px}
.step-detail dt{color:var(--muted);font-size:12px;padding-top:1px}
.step-detail dd{margin:0;min-width:0;white-space:pre-wrap;word-break:break-word}
.step-detail .cmd{color:var(--fg)}
.kind{font-family:ui-monospace,monospace;font-size:12px;background:var(--bad-bg);color:var(--bad);padding:0 6px;border-radius:4px}
.hint{color:var(--muted)}
.attempts{margin:0;padding-left:18px}.attempts .bad{color:var(--bad)}
details.json>summary{cursor:pointer;color:var(--main);font-size:12.5px}
details.json pre{max-height:320px;overflow:auto;background:var(--soft);padding:8px;border-radius:4px;margin-top:4px}
footer{color:var(--muted);font-size:12px;padding:4px 28px 24px}
body[data-filter=passed] details.check:not(.passed),body[data-filter=failed] details.check:not(.failed),body[data-filter=skipped] details.check:not(.skipped){display:none}
@media print{.top{position:static}.tools{display:none}}
`;

const JS = `
(function(){
  var body=document.body;
  body.setAttribute('data-js','on');
  document.querySelectorAll('[data-filter]').forEach(function(b){
    if(b===body)return;
    b.addEventListener('click',function(){body.setAttribute('data-filter',b.getAttribute('data-filter'));});
  });
  document.querySelectorAll('[data-expand]').forEach(function(b){
    b.addEventListener('click',function(){
      var open=b.getAttribute('data-expand')==='open';
      document.querySelectorAll('details.check').forEach(function(d){d.open=open;});
    });
  });
})();
`;
