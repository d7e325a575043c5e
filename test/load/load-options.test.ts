import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseValues } from '../../src/command/option.js';
import { LOAD_OPTIONS, planFrom } from '../../src/load/options.js';
import { splitPlan } from '../../src/worker/split.js';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

describe('load options for workers, reports and --abort-on-fail', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), 5));
    url = `http://127.0.0.1:${await listen(server)}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('--workers needs a pool server; --report takes html:FILE or prometheus:http(s)URL (exit 2, nothing sent)', async () => {
    const a = await runCli(['http', 'get', url, '-n', '10', '--workers', '2'], {
      env: { COMMS_WORKERS_URL: undefined },
    });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--workers needs --workers-server/);
    const b = await runCli(['http', 'get', url, '-n', '10', '--report', 'prometheus:udp://127.0.0.1:9091']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/invalid --report prometheus:udp:\/\/127\.0\.0\.1:9091: expected an http/);
    const c = await runCli(['http', 'get', url, '-n', '10', '--report', 'pdf:x']);
    expect(c.code).toBe(2);
  });

  it('--abort-on-fail stops a local run as soon as the p99 gate fails (exit 1)', async () => {
    const started = Date.now();
    const run = await runCli([
      'http',
      'get',
      url,
      '--duration',
      '60s',
      '-c',
      '2',
      '--expect-p99',
      '1ms',
      '--abort-on-fail',
      '--json',
    ]);
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const s = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(s.error.message).toMatch(/^aborted \(--abort-on-fail\): p99 .* > --expect-p99 1(\.0)?ms/);
    expect(s.durationMs).toBeLessThan(20_000);
  });

  it('the coordinator inlines @file payloads; @- cannot go to workers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'comms-inline-'));
    writeFileSync(join(dir, 'body.json'), '{"sku":"A1"}');
    const plan = planFrom(parseValues(LOAD_OPTIONS, { requests: '10' }));
    const [share] = splitPlan(['http', 'post', url, '-n', '10', '-d', `@${join(dir, 'body.json')}`], plan, 2);
    expect(share?.argv).toEqual(['http', 'post', url, '-d', '{"sku":"A1"}', '-n', '5', '-c', '5']);
    expect(() => splitPlan(['http', 'post', url, '-n', '10', '--data=@-'], plan, 2)).toThrow(
      /stdin cannot be sent/,
    );
    expect(() =>
      splitPlan(['http', 'get', url, '-n', '1'], planFrom(parseValues(LOAD_OPTIONS, { requests: '1' })), 2),
    ).toThrow(/-n 1 cannot be split over --workers 2/);
  });
});
