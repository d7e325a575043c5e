import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsResponder } from '../kit/nats-cli.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson } from '../kit/ndjson.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

interface Summary {
  type: string;
  requests: number;
  successes: number;
  errors: number;
  bytes: number;
  statuses: Record<string, number>;
  errorKinds: Record<string, number>;
  latency: { min: number; p50: number; p99: number; max: number };
}
const summaryOf = (stdout: string) => ndjson<Summary>(stdout).find((l) => l.type === 'summary');

// Load mode sends every request straight on the live connection and leaves the reply out of the
// per-call result when nothing reads it: counts, bytes and statuses must stay exact either way.
describe('nats request in load mode', () => {
  it('counts every reply, its bytes and status exactly', async () => {
    const responder = await natsResponder(server.url, ['load.echo', '--raw']);
    const r = await runCli(['request', 'load.echo', 'abcd', '-n', '300', '-c', '20', '--json', ...s()]);
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(r.stdout);
    expect(summary).toMatchObject({ requests: 300, successes: 300, errors: 0, bytes: 1200 });
    expect(summary?.statuses).toEqual({ reply: 300 });
    expect(summary?.latency.min).toBeGreaterThan(0);
    expect(summary?.latency.p50).toBeLessThanOrEqual(summary?.latency.max ?? 0);
    responder.kill();
  });

  it('--json-all lines carry each decoded reply', async () => {
    const responder = await natsResponder(server.url, ['load.all', '--raw']);
    const r = await runCli(['request', 'load.all', '{"n":1}', '-n', '4', '-c', '2', '--json-all', ...s()]);
    expect(r.code, r.stderr).toBe(0);
    const calls = ndjson<{ type: string; data?: unknown; encoding?: string }>(r.stdout).filter(
      (l) => l.type !== 'summary',
    );
    expect(calls).toHaveLength(4);
    for (const c of calls) expect(c).toMatchObject({ data: { n: 1 }, encoding: 'json' });
    responder.kill();
  });

  it('--expect-body judges every reply under load (a miss fails each call, exit 1)', async () => {
    const responder = await natsResponder(server.url, ['load.fixed', '--body', 'pong', '--raw']);
    const hold = await runCli([
      'request',
      'load.fixed',
      'x',
      '-n',
      '6',
      '--expect-body',
      'pong',
      '--json',
      ...s(),
    ]);
    expect(hold.code, hold.stderr).toBe(0);
    expect(summaryOf(hold.stdout)).toMatchObject({ requests: 6, successes: 6, errors: 0 });
    const miss = await runCli([
      'request',
      'load.fixed',
      'x',
      '-n',
      '6',
      '--expect-body',
      'ping',
      '--json',
      ...s(),
    ]);
    expect(miss.code).toBe(1);
    const summary = summaryOf(miss.stdout);
    expect(summary).toMatchObject({ requests: 6, successes: 0, errors: 6 });
    expect(summary?.errorKinds).toEqual({ expectation: 6 });
    responder.kill();
  });

  it('a reply that comes after --timeout is not taken for a later request', async () => {
    const responder = await natsResponder(server.url, ['load.late', '--delay', '400ms', '--raw']);
    const r = await runCli([
      'request',
      'load.late',
      'x',
      '-n',
      '6',
      '-c',
      '2',
      '--timeout',
      '150ms',
      '--json',
      ...s(),
    ]);
    expect(r.code, r.stderr).toBe(4);
    const summary = summaryOf(r.stdout);
    expect(summary).toMatchObject({ requests: 6, successes: 0, errors: 6, errorKinds: { timeout: 6 } });
    responder.kill();
  });

  it('no responders: every request is an error of its own kind (exit 3)', async () => {
    const r = await runCli(['request', 'load.nobody', 'x', '-n', '5', '-c', '2', '--json', ...s()]);
    expect(r.code).toBe(3);
    const summary = summaryOf(r.stdout);
    expect(summary).toMatchObject({ requests: 5, successes: 0, errors: 5 });
    expect(summary?.statuses).toEqual({ 'no responders': 5 });
  });
});
