import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckEvent, ReportEvent, StepEvent } from '../../src/check/reports/events.js';
import { renderHtml } from '../../src/check/reports/index.js';
import { HOSTILE, sampleEvents, smokeCheck, smokeSteps, TRACE_ORDERS, TRACE_SAGA } from './reports-events.js';

/*
 * The HTML report, opened in a real headless browser (Debian's chromium; .ci/run installs it): a
 * screenshot must come out, and the DOM the browser built (after running the inline script) must hold
 * the summary, one check per check, the waterfall bars, failures opened and compensations marked.
 */

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
let dir: string;
let file: string;
const html = renderHtml(sampleEvents);

beforeAll(() => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  dir = mkdtempSync(join(tmpdir(), 'html-report-'));
  file = join(dir, 'report.html');
  writeFileSync(file, html);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Headless chromium, no network or background services, a fresh profile each run. */
function chromium(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(dir, 'profile-'));
  const argv = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    '--window-size=1200,900',
    ...args,
    pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, argv, { timeout: 150_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** Elements whose opening tag matches `re`, in the serialized DOM. */
function tags(dom: string, re: RegExp): string[] {
  return dom.match(new RegExp(re.source, 'g')) ?? [];
}

describe('HTML report (static)', () => {
  it('is self-contained: no URL, no external resource, and a CSP that forbids loading any', () => {
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\b(src|href|srcset|action|poster|data)\s*=/i);
    expect(html).not.toMatch(/url\(|@import|<link\b|<iframe\b|<img\b|<object\b|<embed\b/i);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'`,
    );
    // Exactly one script element (ours, inline); the hostile check name is text.
    expect(tags(html, /<script\b/i)).toHaveLength(1);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('lays each step out on the check time axis from startedAt and ms', () => {
    // "create order" starts 4ms into a 642ms check and takes 48ms.
    expect(html).toContain(
      `style="left:${Math.round((4 / 642) * 100_000) / 1000}%;width:${Math.round((48 / 642) * 100_000) / 1000}%"`,
    );
    // The first step of a check starts at 0.
    expect(html).toContain(`style="left:0%;width:${Math.round((612 / 642) * 100_000) / 1000}%"`);
  });
});

// A browser start can take many seconds on a loaded machine: generous per-test time.
describe('HTML report (edge cases)', () => {
  it('says so when no check ran', () => {
    const empty = renderHtml([]);
    expect(empty).toContain('<p class="empty">No checks ran.</p>');
    expect(empty).toMatch(/class="count all"[^>]*><b>0<\/b>/);
  });

  it('lays steps without a usable startedAt end to end', () => {
    const steps: StepEvent[] = smokeSteps.map((s) => ({ ...s, startedAt: 'not a time' }));
    const check: CheckEvent = { ...smokeCheck, startedAt: '' };
    const out = renderHtml([...steps, check]);
    // 14ms then 9ms over a 26ms check: the second bar starts where the first ends.
    expect(out).toContain(`style="left:0%;width:${Math.round((14 / 26) * 100_000) / 1000}%"`);
    expect(out).toContain(`style="left:${Math.round((14 / 26) * 100_000) / 1000}%;width:`);
  });

  it('renders a large run (200 checks of 30 steps) in seconds, not minutes (nothing quadratic)', () => {
    const events: ReportEvent[] = [];
    for (let c = 0; c < 200; c++) {
      const name = `check ${c}`;
      for (let i = 0; i < 30; i++) {
        events.push({
          ...smokeSteps[0]!,
          check: name,
          step: `step ${i}`,
          startedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, i * 10)).toISOString(),
        });
      }
      events.push({ ...smokeCheck, name, steps: 30, ms: 300, startedAt: '2025-01-01T00:00:00.000Z' });
    }
    const t0 = performance.now();
    const out = renderHtml(events);
    const took = performance.now() - t0;
    expect(out.match(/<details class="step /g)).toHaveLength(6000);
    expect(took).toBeLessThan(15_000); // generous for a loaded machine: about 1s unloaded
  });
});

describe('HTML report in headless chromium', { timeout: 180_000 }, () => {
  it('renders a screenshot that is not trivially small', async () => {
    const png = join(dir, 'report.png');
    await chromium(`--screenshot=${png}`);
    expect(existsSync(png)).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1200); // IHDR width
    expect(bytes.readUInt32BE(20)).toBe(900); // IHDR height
    // A blank or error page compresses to a few KB; the report has text, bars and colours.
    expect(bytes.length).toBeGreaterThan(30_000);
  });

  it('builds the expected DOM: summary, checks, waterfall rows, failures open, compensation and finally marked', async () => {
    const { stdout: dom } = await chromium('--dump-dom');
    // The inline script ran (the CSP lets inline code run, nothing else).
    expect(dom).toMatch(/<body[^>]*data-js="on"/);
    // Summary counts.
    expect(dom).toMatch(/class="count all"[^>]*><b>4<\/b><span>checks<\/span>/);
    expect(dom).toMatch(/class="count passed"[^>]*><b>1<\/b>/);
    expect(dom).toMatch(/class="count failed"[^>]*><b>2<\/b>/);
    expect(dom).toMatch(/class="count skipped"[^>]*><b>1<\/b>/);
    // One section per file, one <details> per check; failed checks open, the others closed.
    expect(tags(dom, /<section class="file"/)).toHaveLength(2);
    const checks = tags(dom, /<details class="check [a-z]+"[^>]*>/);
    expect(checks).toHaveLength(4);
    expect(checks.filter((t) => t.includes('class="check failed"'))).toHaveLength(2);
    expect(checks.filter((t) => t.includes('class="check failed"')).every((t) => / open=""/.test(t))).toBe(
      true,
    );
    expect(checks.filter((t) => !t.includes('class="check failed"')).some((t) => / open/.test(t))).toBe(
      false,
    );
    // One waterfall row per step that ran: 2 + 6 + 5.
    expect(tags(dom, /<details class="step (main|compensate|finally) (ok|bad)"/)).toHaveLength(13);
    expect(tags(dom, /<details class="step compensate /)).toHaveLength(3);
    expect(tags(dom, /<details class="step finally /)).toHaveLength(2);
    expect(tags(dom, /<span class="bar compensate /)).toHaveLength(3);
    expect(tags(dom, /<span class="phase-chip compensate">↺ compensate/)).toHaveLength(3);
    expect(tags(dom, /<span class="phase-chip finally">⚑ finally/)).toHaveLength(2);
    // Failed steps are open, with expected against actual.
    expect(tags(dom, /<details class="step [a-z]+ bad" open=""/)).toHaveLength(3);
    expect(dom).toContain('Failed at step <b>“stock is below 12”</b>');
    expect(dom).toMatch(
      /<div class="diff-col expected"><div class="diff-label">expected<\/div><pre>\{\s+"lt": 12\s+\}<\/pre>/,
    );
    expect(dom).toMatch(/<div class="diff-col actual"><div class="diff-label">actual<\/div><pre>14<\/pre>/);
    // Trace ids, the skip reason, and the hostile name as text.
    expect(dom).toContain(`<code class="trace-id" title="select to copy">${TRACE_ORDERS}</code>`);
    expect(dom).toContain(TRACE_SAGA);
    expect(dom).toContain('Skipped: needs the export service');
    expect(dom).toContain('reserve then charge &lt;script&gt;alert("x")&lt;/script&gt;');
    expect(tags(dom, /<script\b/)).toHaveLength(1);
    expect(HOSTILE).toContain('<script>');
  });
});
