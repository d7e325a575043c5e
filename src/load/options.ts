import { formatMs } from '../core/duration.js';
import { duration, flag, integer, list, number, type OptionValues, text } from '../core/options.js';
import { UsageError } from '../errors/comms-error.js';
import { redactUrl } from '../output/redact.js';
import type { DistributedPlan, GateSpec, LoadPlan } from './plan.js';
import { pushUrlFrom } from './prometheus.js';

/** Default length of a run that names neither -n nor --duration (e.g. `--rate 100` alone), as autocannon. */
export const DEFAULT_DURATION_MS = 10_000;
/** Closed-loop default: calls in flight. */
export const DEFAULT_CONCURRENCY = 10;
/** Open-loop default cap on calls in flight: high, so a stalled server shows up as latency, not as a stop. */
export const DEFAULT_OPEN_LOOP_CAP = 1000;

/** Subject prefix of a worker pool (`<prefix>.discover`, ...). */
export const DEFAULT_WORKERS_PREFIX = 'comms.load';

/** A `--report` target: `html:FILE` (a self-contained page) or `prometheus:URL` (a Pushgateway push). */
export type ReportTarget = { kind: 'html'; target: string } | { kind: 'prometheus'; target: string };

function parseReport(raw: string, flag: string): ReportTarget {
  const at = raw.indexOf(':');
  const kind = at > 0 ? raw.slice(0, at) : '';
  const target = raw.slice(at + 1);
  if (kind === 'prometheus') return { kind, target: pushUrlFrom(target, flag) };
  if (kind !== 'html' || target === '')
    throw new UsageError(`invalid ${flag} '${redactUrl(raw)}': expected html:FILE or prometheus:URL`);
  return { kind, target };
}

/** Load mode's own options, attached to every call command. */
export const LOAD_OPTIONS = {
  requests: integer('-n, --requests <n>', 'load mode: send n calls', { min: 1 }),
  duration: duration('--duration <dur>', 'load mode: keep calling for this long'),
  concurrency: integer(
    '-c, --concurrency <n>',
    `load mode: calls in flight (closed loop; default ${DEFAULT_CONCURRENCY}, open loop cap ${DEFAULT_OPEN_LOOP_CAP})`,
    {
      min: 1,
    },
  ),
  rate: number('--rate <per-second>', 'load mode: open loop at a constant arrival rate'),
  warmup: duration('--warmup <dur>', 'load mode: run this long before measuring'),
  connections: integer('--connections <n>', 'load mode: connection pool size (HTTP, gRPC)', { min: 1 }),
  expectP99: duration('--expect-p99 <dur>', 'load mode gate: exit 1 when p99 is slower'),
  expectP50: duration('--expect-p50 <dur>', 'load mode gate: exit 1 when p50 is slower'),
  maxErrorRate: number('--max-error-rate <pct>', 'load mode gate: exit 1 above this error % (0-100)', {
    max: 100,
  }),
  minRps: number('--min-rps <n>', 'load mode gate: exit 1 below this throughput'),
  jsonAll: flag('--json-all', 'load mode: with --json, one line per call too'),
  abortOnFail: flag(
    '--abort-on-fail',
    'load mode: stop as soon as a p99/p50/error-rate gate fails (every worker)',
  ),
  report: list(
    '--report <kind:target>',
    'load mode: also write html:FILE (a self-contained page) or push prometheus:URL (a Pushgateway) (repeatable)',
    {
      each: parseReport,
    },
  ),
  workers: integer('--workers <n>', 'load mode: spread the run over n workers (comms-cli worker) via NATS', {
    min: 1,
  }),
  workersServer: text(
    '--workers-server <urls>',
    'NATS server(s) of the worker pool (also COMMS_WORKERS_URL; credentials in the URL or NATS_* env)',
    { secret: true },
  ),
  workerTags: list('--worker-tags <k=v>', 'only workers carrying this tag (repeatable)', { mapSyntax: '=' }),
  workersTimeout: duration('--workers-timeout <dur>', 'how long to wait for --workers to answer', {
    default: 5_000,
  }),
  workersPrefix: text('--workers-prefix <prefix>', 'subject prefix of the worker pool', {
    default: DEFAULT_WORKERS_PREFIX,
  }),
  allowPartial: flag('--allow-partial', 'a run that lost workers mid-run still exits by the rest (not 3)'),
  drainTimeout: duration(
    '--drain-timeout <dur>',
    'load mode: after --duration, wait at most this for calls in flight, then abort them (counted as not completed)',
  ),
};
export type LoadValues = OptionValues<typeof LOAD_OPTIONS>;

/** The long flags that switch a call into load mode (main.ts reads them before parsing). */
export const LOAD_MODE_FLAGS = ['-n', '--requests', '--duration', '--rate'] as const;

/** True when any load-mode option is present: the call becomes many. */
export function isLoadMode(values: Pick<LoadValues, 'requests' | 'duration' | 'rate'>): boolean {
  return values.requests !== undefined || values.duration !== undefined || values.rate !== undefined;
}

/**
 * Turn the load values into a plan, or throw a UsageError naming the bad option (exit 2, nothing sent).
 * A run needs an end: -n, --duration, or both (first reached wins); with neither, 10 s.
 */
export function planFrom(values: LoadValues): LoadPlan {
  let durationMs = values.duration;
  if (durationMs !== undefined && durationMs <= 0)
    throw new UsageError(`invalid --duration '${formatMs(durationMs)}': must be > 0`);
  if (values.rate !== undefined && values.rate <= 0)
    throw new UsageError(`invalid --rate '${values.rate}': must be > 0 calls per second`);
  if (values.requests === undefined && durationMs === undefined) durationMs = DEFAULT_DURATION_MS;

  const gates: GateSpec[] = [];
  if (values.expectP99 !== undefined)
    gates.push(maxGate('p99', '--expect-p99', formatMs(values.expectP99), values.expectP99));
  if (values.expectP50 !== undefined)
    gates.push(maxGate('p50', '--expect-p50', formatMs(values.expectP50), values.expectP50));
  if (values.maxErrorRate !== undefined)
    gates.push(maxGate('errorRate', '--max-error-rate', `${values.maxErrorRate}%`, values.maxErrorRate));
  if (values.minRps !== undefined)
    gates.push({
      figure: 'rps',
      flag: '--min-rps',
      text: `${values.minRps} req/s`,
      limit: values.minRps,
      bound: 'min',
    });

  return {
    ...(values.requests !== undefined ? { requests: values.requests } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    concurrency:
      values.concurrency ?? (values.rate !== undefined ? DEFAULT_OPEN_LOOP_CAP : DEFAULT_CONCURRENCY),
    ...(values.rate !== undefined ? { rate: values.rate } : {}),
    warmupMs: values.warmup ?? 0,
    gates,
    jsonAll: values.jsonAll,
    abortOnFail: values.abortOnFail,
    reports: values.report,
    ...(values.drainTimeout !== undefined ? { drainTimeoutMs: values.drainTimeout } : {}),
    ...(values.workers !== undefined ? { distributed: distributedFrom(values, values.workers) } : {}),
  };
}

function distributedFrom(values: LoadValues, workers: number): DistributedPlan {
  const server = values.workersServer ?? process.env.COMMS_WORKERS_URL;
  if (server === undefined || server.trim() === '')
    throw new UsageError('--workers needs --workers-server nats://HOST:4222 (or COMMS_WORKERS_URL)');
  const tags: Record<string, string> = {};
  for (const t of values.workerTags) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid --worker-tags '${t}': expected key=value`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return {
    workers,
    server,
    tags,
    timeoutMs: values.workersTimeout,
    prefix: values.workersPrefix,
    allowPartial: values.allowPartial,
  };
}

function maxGate(figure: GateSpec['figure'], flagName: string, text: string, limit: number): GateSpec {
  return { figure, flag: flagName, text, limit, bound: 'max' };
}
