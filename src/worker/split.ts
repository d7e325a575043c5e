import { readFileSync } from 'node:fs';
import { UsageError } from '../errors/comms-error.js';
import type { LoadPlan } from '../load/plan.js';
import { commandOf } from './security.js';

/** One worker's share of a plan. */
export interface Share {
  /** k6 execution segment, e.g. `1/3:2/3`. */
  segment: string;
  requests?: number;
  concurrency: number;
  rate?: number;
  argv: string[];
}

/** Flags the coordinator keeps for itself (value-taking ones marked true). */
const COORDINATOR_ONLY: Record<string, boolean> = {
  '--workers': true,
  '--workers-server': true,
  '--worker-tags': true,
  '--workers-timeout': true,
  '--workers-prefix': true,
  '--allow-partial': false,
  '--abort-on-fail': false,
  '--report': true,
  '--json': false,
  '--json-all': false,
  // Gates are judged on the merged data, by the coordinator.
  '--expect-p99': true,
  '--expect-p50': true,
  '--max-error-rate': true,
  '--min-rps': true,
  // Re-written per share.
  '-n': true,
  '--requests': true,
  '-c': true,
  '--concurrency': true,
  '--rate': true,
};
/** Payload flags whose `@file` the coordinator reads and inlines (a worker never reads its files). */
const PAYLOAD_FLAGS = new Set(['-d', '--data', '--json-data', '--body', '-m', '--message', '--payload']);

/** `a/b` for the fraction i/n, reduced. */
function frac(i: number, n: number): string {
  if (i === 0) return '0';
  if (i === n) return '1';
  const g = gcd(i, n);
  return `${i / g}/${n / g}`;
}
function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The part of `total` that segment [i/n, (i+1)/n) gets: whole numbers that add up to `total` exactly. */
export function scale(total: number, i: number, n: number): number {
  return Math.floor((total * (i + 1)) / n) - Math.floor((total * i) / n);
}

/**
 * Split a plan over n workers as k6's execution segments do: worker i runs segment [i/n, (i+1)/n);
 * -n and -c are scaled to whole numbers that add up to the totals, --rate is divided evenly; the
 * duration and warm-up are the same for all. Coordinator-only flags (workers, gates, reports, --json)
 * are removed, and `@file` payloads are read here and inlined.
 */
export function splitPlan(
  argv: readonly string[],
  plan: LoadPlan,
  n: number,
  env: NodeJS.ProcessEnv = process.env,
): Share[] {
  if (plan.rate === undefined && plan.concurrency < n)
    throw new UsageError(`-c ${plan.concurrency} cannot be split over --workers ${n}: give -c >= ${n}`);
  if (plan.requests !== undefined && plan.requests < n)
    throw new UsageError(`-n ${plan.requests} cannot be split over --workers ${n}: give -n >= ${n}`);
  const base = [...baseArgv(argv), ...brokerFromEnv(argv, env)];
  return Array.from({ length: n }, (_, i) => {
    const requests = plan.requests !== undefined ? scale(plan.requests, i, n) : undefined;
    const concurrency = Math.max(1, scale(plan.concurrency, i, n));
    const rate = plan.rate !== undefined ? Math.round((plan.rate / n) * 1e6) / 1e6 : undefined;
    const extra = [
      ...(requests !== undefined ? ['-n', String(requests)] : []),
      '-c',
      String(concurrency),
      ...(rate !== undefined ? ['--rate', String(rate)] : []),
    ];
    return {
      segment: `${frac(i, n)}:${frac(i + 1, n)}`,
      ...(requests !== undefined ? { requests } : {}),
      concurrency,
      ...(rate !== undefined ? { rate } : {}),
      argv: [...perWorker(base, i), ...extra],
    };
  });
}

/** The command line without coordinator-only flags and with @file payloads inlined. */
function baseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const flag = eq > 0 ? token.slice(0, eq) : token;
    // -n500 / -c10 (short flag with its value attached)
    if (/^-[nc]\d/.test(token)) continue;
    const takesValue = COORDINATOR_ONLY[flag];
    if (takesValue !== undefined) {
      if (takesValue && eq < 0) i += 1;
      continue;
    }
    if (PAYLOAD_FLAGS.has(flag)) {
      const value = eq > 0 ? token.slice(eq + 1) : argv[i + 1];
      if (eq < 0) i += 1;
      out.push(flag, inline(value ?? '', flag));
      continue;
    }
    out.push(token);
  }
  return out;
}

/**
 * Broker commands read their broker (and its credentials) from the environment when no flag names
 * it: the coordinator's environment is what the user meant, and workers scrub theirs, so the values
 * travel as flags. Files (NATS_CREDS, NATS_NKEY, contexts) do not travel: name the broker in flags.
 */
const BROKER_ENV: Record<string, readonly [flag: string, env: string][]> = {
  nats: [
    ['--server', 'NATS_URL'],
    ['--user', 'NATS_USER'],
    ['--password', 'NATS_PASSWORD'],
    ['--token', 'NATS_TOKEN'],
  ],
  amqp: [['--url', 'AMQP_URL']],
  mqtt: [
    ['--url', 'MQTT_URL'],
    ['--password', 'MQTT_PASSWORD'],
  ],
};
const SHORT: Record<string, string> = { '--server': '-s' };

function brokerFromEnv(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const [command] = commandOf(argv);
  const out: string[] = [];
  for (const [flag, name] of BROKER_ENV[command ?? ''] ?? []) {
    const value = env[name];
    if (!value) continue;
    const short = SHORT[flag];
    if (argv.some((a) => a === flag || a.startsWith(`${flag}=`) || (short !== undefined && a === short)))
      continue;
    out.push(`${flag}=${value}`);
  }
  return out;
}

/**
 * What differs between shares besides the figures: an MQTT `--client-id` gets `-w<i>` appended, as a
 * broker disconnects the older of two sessions with one client id.
 */
function perWorker(base: readonly string[], i: number): string[] {
  if (commandOf(base)[0] !== 'mqtt') return [...base];
  return base.map((token, k) => {
    if (token.startsWith('--client-id=')) return `${token}-w${i + 1}`;
    if (base[k - 1] === '--client-id') return `${token}-w${i + 1}`;
    return token;
  });
}

function inline(value: string, flag: string): string {
  if (value === '@-')
    throw new UsageError(`${flag} @-: stdin cannot be sent to workers`, {
      hint: `use ${flag} @FILE or the text itself`,
    });
  if (!value.startsWith('@')) return value;
  try {
    return readFileSync(value.slice(1), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${flag} file '${value.slice(1)}': ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** `split over 3 workers (k6 segments): w1 0:1/3 -n 333 -c 3 · ...` */
export function describeSplit(shares: readonly Share[], names: readonly string[]): string {
  const parts = shares.map((s, i) => {
    const figures = [
      s.requests !== undefined ? `-n ${s.requests}` : undefined,
      `-c ${s.concurrency}`,
      s.rate !== undefined ? `--rate ${s.rate}` : undefined,
    ]
      .filter(Boolean)
      .join(' ');
    return `${names[i] ?? `#${i + 1}`} [${s.segment}] ${figures}`;
  });
  return `split over ${shares.length} workers (k6 execution segments): ${parts.join(' · ')}`;
}
