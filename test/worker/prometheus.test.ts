import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { refusedAddress } from '../kit/peers.js';
import { runCli } from '../kit/spawn-cli.js';
import { expectRunMetrics, parseExposition, pushgateway } from './pushgateway.js';

/*
 * --report prometheus:URL on a local run, against a node:http server standing in for a Pushgateway
 * that parses what it receives. (The distributed run's push is in transports.test.ts.)
 */
describe('--report prometheus:URL', () => {
  let target: Server;
  let url: string;
  let calls = 0;

  beforeAll(async () => {
    target = createServer((_req, res) => {
      calls += 1;
      // Every 5th call fails with 503: errors by kind in the push.
      res.statusCode = calls % 5 === 0 ? 503 : 200;
      setTimeout(() => res.end('ok'), 2);
    });
    url = `http://127.0.0.1:${await listen(target)}/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => target.close(() => r()));
  });

  it('PUTs a histogram whose buckets are cumulative and add up to the run, to /metrics/job/comms-cli', async () => {
    const gw = await pushgateway();
    try {
      const run = await runCli(
        [
          'http',
          'get',
          url,
          '-n',
          '200',
          '-c',
          '4',
          '--max-error-rate',
          '50',
          '--report',
          `prometheus:${gw.url}`,
          '--json',
        ],
        { timeoutMs: 60_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      const s = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(gw.pushes).toHaveLength(1);
      const push = gw.pushes[0];
      expect(push?.method).toBe('PUT');
      expect(push?.path).toBe('/metrics/job/comms-cli');
      expect(push?.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expectRunMetrics(push?.body ?? '', s);
      const { samples } = parseExposition(push?.body ?? '');
      expect(
        samples.find((x) => x.name === 'comms_load_errors_total' && x.labels.kind === 'response')?.value,
      ).toBe(s.errors);
      expect(s.errors).toBe(40);
      expect(samples.find((x) => x.name === 'comms_load_requests_total')?.labels.transport).toBe('http');
    } finally {
      gw.server.close();
    }
  }, 90_000);

  it('keeps a job path given in the URL; URL credentials become Basic auth and are redacted', async () => {
    const gw = await pushgateway(500);
    try {
      const base = gw.url.replace('http://', 'http://ci:s3cret@');
      const run = await runCli(
        [
          'http',
          'get',
          url,
          '-n',
          '20',
          '--max-error-rate',
          '50',
          '--report',
          `prometheus:${base}/metrics/job/nightly/env/ci`,
        ],
        {
          timeoutMs: 60_000,
        },
      );
      // The gateway answered 500: one warning, the run's own result and exit code stand.
      expect(run.code, run.stderr).toBe(0);
      expect(gw.pushes[0]?.path).toBe('/metrics/job/nightly/env/ci');
      expect(gw.pushes[0]?.authorization).toBe(`Basic ${Buffer.from('ci:s3cret').toString('base64')}`);
      expect(run.stderr).toMatch(
        /warning: --report prometheus: push to http:\/\/ci:\[REDACTED\]@127\.0\.0\.1:\d+\/metrics\/job\/nightly\/env\/ci failed \(HTTP 500: push rejected\); the run's result stands\n/,
      );
      expect(run.stderr).not.toContain('s3cret');
    } finally {
      gw.server.close();
    }
  }, 90_000);

  it('an unreachable gateway: the run stands (exit by its gates), one warning line', async () => {
    const dead = await refusedAddress();
    const run = await runCli(
      ['http', 'get', url, '-n', '10', '--max-error-rate', '50', '--report', `prometheus:http://${dead}`],
      {
        timeoutMs: 60_000,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /push to http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/comms-cli failed \(ECONNREFUSED\)/,
    );
  }, 60_000);

  it.each([
    ['prometheus:not a url', /invalid --report prometheus:not a url: not a URL/],
    ['prometheus:ftp://gw:9091', /expected an http:\/\/ or https:\/\/ URL/],
    ['prometheus:http://gw:9091/?x=1', /takes no query/],
    ['statsd:x', /expected html:FILE or prometheus:URL/],
  ])('%s is exit 2 before anything is sent', async (spec, re) => {
    const before = calls;
    const run = await runCli(['http', 'get', url, '-n', '5', '--report', spec]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(re);
    expect(calls).toBe(before);
  });
});
