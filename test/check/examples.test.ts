import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { serveGrpc, serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';
import { events } from './kit.js';

/** Every example check file runs against serve http, serve grpc and a private nats-server. */
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
let http: Awaited<ReturnType<typeof serveHttp>>;
let grpc: Awaited<ReturnType<typeof serveGrpc>>;
let nats: NatsServer;
let vars: string[] = [];

beforeAll(async () => {
  [http, grpc, nats] = await Promise.all([serveHttp(), serveGrpc(), startNatsServer()]);
  vars = ['--var', `api=${http.url}`, '--var', `grpc=${grpc.addr}`, '--var', `bus=${nats.url}`];
}, 30_000);
afterAll(async () => {
  await Promise.all([http?.stop(), grpc?.stop(), nats?.stop()]);
  killSurvivors();
});

/** The saga example fails on purpose: its second step fails and its compensation runs. */
const EXPECTED_EXIT: Record<string, number> = { 'saga.check.yaml': 1 };

describe('check: examples/', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.check.yaml'));
  it('has the smoke, act-then-await, saga and poll-until examples', () => {
    expect(files.sort()).toEqual([
      'act-then-await.check.yaml',
      'poll-until.check.yaml',
      'saga.check.yaml',
      'smoke.check.yaml',
    ]);
  });

  for (const file of files) {
    it(`${file} runs`, async () => {
      const r = await runCli(['check', `${EXAMPLES}${file}`, ...vars, '--json'], { timeoutMs: 60_000 });
      const want = EXPECTED_EXIT[file] ?? 0;
      expect(r.code, r.stderr).toBe(want);
      const ev = events(r.stdout);
      expect(ev.at(-1)).toMatchObject({ type: 'run', checks: 1, failed: want === 0 ? 0 : 1 });
    }, 60_000);
  }

  it('the saga compensates the reservation, then runs finally, and reports the failed step', async () => {
    const r = await runCli(['check', `${EXAMPLES}saga.check.yaml`, ...vars, '--json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const steps = events(r.stdout).filter((e) => e.type === 'step');
    expect(steps.map((s) => [s.step, s.phase, s.ok])).toEqual([
      [expect.stringContaining('nats subscribe'), 'main', true],
      ['reserve stock', 'main', true],
      ['charge the card', 'main', false],
      ['release the reservation', 'compensate', true],
      ['the release was published', 'finally', true],
    ]);
    const check = events(r.stdout).find((e) => e.type === 'check') as Record<string, unknown>;
    expect(check).toMatchObject({ ok: false, exit: 1, failure: { step: 'charge the card' } });
    expect(check.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.stderr).toContain('✗ saga › a failed payment releases the reservation');
    expect(r.stderr).toContain(`trace id: ${String(check.traceId)}`);
  }, 60_000);

  it('a directory runs every file in path order, fragments left out; the first failure sets the exit', async () => {
    const r = await runCli(['check', EXAMPLES, ...vars, '--jobs', '2'], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => /^[✓✗-] /.test(l));
    expect(lines).toHaveLength(4);
    expect(r.stderr).toMatch(/1 failed, 3 passed/);
  }, 90_000);
});
