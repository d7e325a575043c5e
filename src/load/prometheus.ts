import { UsageError } from '../errors/comms-error.js';
import type { Output } from '../output/output.js';
import { redactUrl } from '../output/redact.js';
import { LatencyHistogram } from './histogram.js';
import type { LoadSummary } from './summary.js';

/**
 * `--report prometheus:URL`: push the run's metrics to a Prometheus Pushgateway, latency as a real
 * histogram (`_bucket{le}`, `_sum`, `_count`) read from the run's HDR histogram.
 *
 * Why the exposition text is written here rather than with prom-client: prom-client's Histogram
 * takes one observation at a time (no weight), so importing a finished HDR histogram would replay
 * every call (O(requests)) and its `_sum` would be rebuilt from bucket values; the HDR histogram
 * already holds the counts and the exact sum (mean × count). The text format is small and stable.
 */

/**
 * The bucket upper bounds, in seconds: 1-2-5 per decade from 100 µs to 10 s, then 20, 30, 60 s.
 * Fixed (not derived from this run's min/max) so pushes of different runs have the same series and
 * `histogram_quantile()` over them is meaningful.
 */
export const PROMETHEUS_BUCKETS_S: readonly number[] = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60,
];
/** Error kinds always present (0 when none), so rate() and alerts see a series from the first push. */
const ERROR_KINDS = ['connect', 'timeout', 'response', 'expectation', 'breaker', 'local'];
const PUSH_TIMEOUT_MS = 10_000;
const DEFAULT_JOB = 'comms-cli';

/**
 * Parse the URL of `prometheus:URL` (exit 2 on a bad one, before anything is sent): an http(s)
 * Pushgateway base URL, to which `/metrics/job/comms-cli` is added unless the path already names
 * `/metrics/job/<job>[/<label>/<value>...]`.
 */
export function pushUrlFrom(raw: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid ${flag} prometheus:${redactUrl(raw)}: not a URL`, {
      hint: 'expected prometheus:http://pushgateway:9091 (a Pushgateway base URL)',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`invalid ${flag} prometheus:${redactUrl(raw)}: expected an http:// or https:// URL`);
  if (url.search || url.hash)
    throw new UsageError(`invalid ${flag} prometheus:${redactUrl(raw)}: a Pushgateway URL takes no query`);
  if (!/\/metrics\/job\/[^/]+/.test(url.pathname))
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/job/${DEFAULT_JOB}`;
  return url.toString();
}

/** Escape a label value for the text format. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A number as the text format writes it. */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  return String(v);
}

/** The run as Prometheus text exposition format (version 0.0.4). */
export function exposition(summary: LoadSummary): string {
  const labels = `transport="${label(String(summary.transport ?? ''))}",operation="${label(summary.operation)}",target="${label(redactUrl(summary.target))}"`;
  const with_ = (extra: string) => `{${labels}${extra ? `,${extra}` : ''}}`;
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  const h = LatencyHistogram.decode(summary.histogram);
  const name = 'comms_load_request_duration_seconds';
  metric(
    name,
    'histogram',
    "Latency of the run's calls, from its HDR histogram (buckets: values at or below le).",
  );
  const counts = h.countAtOrBelow(PROMETHEUS_BUCKETS_S.map((s) => s * 1000));
  PROMETHEUS_BUCKETS_S.forEach((le, i) => {
    lines.push(`${name}_bucket${with_(`le="${num(le)}"`)} ${counts[i] ?? 0}`);
  });
  lines.push(`${name}_bucket${with_('le="+Inf"')} ${h.count}`);
  // Exact: mean x count of the recorded latencies (not rebuilt from buckets).
  lines.push(`${name}_sum${with_('')} ${num((summary.histogram.mean * summary.histogram.count) / 1000)}`);
  lines.push(`${name}_count${with_('')} ${h.count}`);

  metric('comms_load_requests_total', 'counter', 'Calls completed in the measured phase.');
  lines.push(`comms_load_requests_total${with_('')} ${summary.requests}`);
  metric('comms_load_errors_total', 'counter', 'Failed calls by error kind.');
  const kinds = new Set([...ERROR_KINDS, ...Object.keys(summary.errorKinds)]);
  for (const kind of kinds)
    lines.push(
      `comms_load_errors_total${with_(`kind="${label(kind)}"`)} ${summary.errorKinds[kind as keyof typeof summary.errorKinds] ?? 0}`,
    );
  metric('comms_load_duration_seconds', 'gauge', 'Length of the measured phase.');
  lines.push(`comms_load_duration_seconds${with_('')} ${num(summary.durationMs / 1000)}`);
  metric('comms_load_requests_per_second', 'gauge', 'Throughput over the measured phase.');
  lines.push(`comms_load_requests_per_second${with_('')} ${num(summary.rps)}`);
  metric('comms_load_workers', 'gauge', 'Workers whose share is in the figures (1 for a local run).');
  lines.push(
    `comms_load_workers${with_('')} ${summary.workers ? summary.workers.filter((w) => !w.lost).length : 1}`,
  );
  metric('comms_load_ok', 'gauge', '1 when the run passed (every gate held), else 0.');
  lines.push(`comms_load_ok${with_('')} ${summary.ok ? 1 : 0}`);
  return `${lines.join('\n')}\n`;
}

/**
 * PUT the metrics to the Pushgateway (PUT replaces the job's group, as a batch job's last run should).
 * Credentials in the URL become a Basic Authorization header (fetch refuses them in URLs). A failed
 * push does not change the run's result: one warning line on stderr, the run's exit code stands.
 */
export async function pushPrometheus(url: string, summary: LoadSummary, output: Output): Promise<void> {
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' };
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const shown = redactUrl(url);
  try {
    const res = await fetch(target, {
      method: 'PUT',
      headers,
      body: exposition(summary),
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
    const text = res.ok ? '' : (await res.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200);
    if (!res.ok) throw new Error(`HTTP ${res.status}${text ? `: ${text}` : ''}`);
    output.info(output.c.dim(`report: pushed to ${shown}`));
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${PUSH_TIMEOUT_MS / 1000}s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    if (!output.options.quiet)
      output.err.write(
        `${output.c.yellow('warning:')} --report prometheus: push to ${shown} failed (${why}); the run's result stands\n`,
      );
  }
}
