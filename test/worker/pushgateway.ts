import { createServer, type Server } from 'node:http';
import { expect } from 'vitest';
import { listen } from '../kit/listen.js';

/** One push a stand-in Pushgateway received. */
export interface Push {
  method: string;
  path: string;
  contentType: string;
  authorization: string | undefined;
  body: string;
}

/** A node:http server standing in for a Pushgateway: records every push, answers `status`. */
export async function pushgateway(status = 200): Promise<{ url: string; pushes: Push[]; server: Server }> {
  const pushes: Push[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pushes.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: String(req.headers['content-type'] ?? ''),
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = status;
      res.end(status === 200 ? '' : 'push rejected\n');
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}`, pushes, server };
}

/** A sample line of the text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the text exposition format (what the tests need of it: TYPE lines and samples). */
export function parseExposition(text: string): { types: Record<string, string>; samples: Sample[] } {
  const types: Record<string, string> = {};
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types[type[1] as string] = type[2] as string;
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    const raw = m[3] as string;
    samples.push({
      name: m[1] as string,
      labels,
      value: raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw),
    });
  }
  return { types, samples };
}

/**
 * What every pushed run must satisfy: a histogram with cumulative, monotonic buckets ending in +Inf
 * = _count = the run's requests; _sum consistent with the run's mean; requests and errors counters.
 */
export function expectRunMetrics(
  body: string,
  run: { requests: number; errors: number; latency: { mean: number; min: number; max: number } },
): void {
  const { types, samples } = parseExposition(body);
  const h = 'comms_load_request_duration_seconds';
  expect(types[h]).toBe('histogram');
  expect(types.comms_load_requests_total).toBe('counter');
  expect(types.comms_load_errors_total).toBe('counter');
  expect(types.comms_load_duration_seconds).toBe('gauge');
  const buckets = samples.filter((s) => s.name === `${h}_bucket`);
  const les = buckets.map((b) => (b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le)));
  expect(les.at(-1)).toBe(Number.POSITIVE_INFINITY);
  for (let i = 1; i < buckets.length; i++) {
    expect(les[i] as number).toBeGreaterThan(les[i - 1] as number);
    expect(buckets[i]?.value as number).toBeGreaterThanOrEqual(buckets[i - 1]?.value as number);
  }
  const count = samples.find((s) => s.name === `${h}_count`)?.value;
  const sum = samples.find((s) => s.name === `${h}_sum`)?.value ?? Number.NaN;
  expect(buckets.at(-1)?.value).toBe(run.requests);
  expect(count).toBe(run.requests);
  // _sum is the exact mean x count (the summary's mean is rounded to the microsecond).
  expect(sum).toBeCloseTo((run.latency.mean * run.requests) / 1000, 2);
  expect(sum).toBeGreaterThanOrEqual((run.latency.min * run.requests) / 1000 - 1e-3);
  expect(sum).toBeLessThanOrEqual((run.latency.max * run.requests) / 1000 + 1e-3);
  // No call is slower than max: every bucket at or above max holds them all.
  for (let i = 0; i < buckets.length; i++)
    if ((les[i] as number) >= (run.latency.max / 1000) * 1.001) expect(buckets[i]?.value).toBe(run.requests);
  expect(samples.find((s) => s.name === 'comms_load_requests_total')?.value).toBe(run.requests);
  const errors = samples.filter((s) => s.name === 'comms_load_errors_total').reduce((a, s) => a + s.value, 0);
  expect(errors).toBe(run.errors);
}
