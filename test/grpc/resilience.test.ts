import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { refusedAddress, type SilentPeer, silentPeer } from '../kit/peers.js';
import { serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/** Retries and the breaker, for the call and for its reflection step, against `comms-cli serve grpc`. */
let served: Awaited<ReturnType<typeof serveGrpc>>;
let addr: string;
let tmp: string;
let silent: SilentPeer;
let silentAddr: string;
let refused: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-resilience-'));
  [served, silent, refused] = await Promise.all([serveGrpc(), silentPeer(), refusedAddress()]);
  addr = served.addr;
  silentAddr = silent.addr;
});

afterAll(async () => {
  await Promise.all([served?.stop(), silent?.close()]);
  killSurvivors();
  await rm(tmp, { recursive: true, force: true });
});

const GET = 'inventory.Inventory/GetItem';

describe('grpc call: retries and breaker', () => {
  it('retries UNAVAILABLE until it succeeds', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail-times: 2',
      '-H',
      'x-key: retry-1',
      '--retries',
      '3',
      '--backoff',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [res] = ndjson(r.stdout);
    expect(((res?.attempts ?? []) as Array<{ status: string }>).map((a) => a.status)).toEqual([
      'UNAVAILABLE',
      'UNAVAILABLE',
      'OK',
    ]);
  });

  it('does not retry other codes unless --retry-on names them', async () => {
    const args = [
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail: RESOURCE_EXHAUSTED',
      '-H',
      'x-fail-times: 1',
      '--retries',
      '2',
      '--backoff',
      '10ms',
      '--json',
    ];
    const plain = await runCli([...args, '-H', 'x-key: ro-1']);
    expect(plain.code).toBe(1);
    expect(ndjson(plain.stdout)[0]?.attempts).toHaveLength(1);
    const withFlag = await runCli([...args, '-H', 'x-key: ro-2', '--retry-on', 'RESOURCE_EXHAUSTED']);
    expect(withFlag.code).toBe(0);
    expect(ndjson(withFlag.stdout)[0]?.attempts).toHaveLength(2);
  });

  it("honours the server's google.rpc.RetryInfo delay", async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail-times: 1',
      '-H',
      'x-key: ri-1',
      '-H',
      'x-retry-after: 300ms',
      '--retries',
      '1',
      '--backoff',
      '1ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const attempts = ndjson(r.stdout)[0]?.attempts as Array<{ waitMs?: number }>;
    expect(attempts[0]?.waitMs).toBeGreaterThanOrEqual(300);
  });

  it('the breaker opens after repeated UNAVAILABLE and then short-circuits (exit 5)', async () => {
    const state = join(tmp, 'breaker.json');
    const args = [
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail: UNAVAILABLE',
      '--breaker',
      '2',
      '--breaker-cooldown',
      '1m',
      '--breaker-state',
      state,
    ];
    expect((await runCli(args)).code).toBe(1);
    expect((await runCli(args)).code).toBe(1);
    const third = await runCli(args);
    expect(third.code).toBe(5);
    expect(third.stderr).toContain('circuit breaker is open');
  });
});

describe('reflection step: --max-time, retries, breaker', () => {
  it('--max-time bounds the reflection lookup (exit 4, result names target and operation)', async () => {
    const r = await runCli(['grpc', 'call', silentAddr, GET, '--max-time', '500ms', '--json']);
    expect(r.code).toBe(4);
    const [res] = ndjson(r.stdout);
    expect(res).toMatchObject({ transport: 'grpc', target: silentAddr, operation: GET, ok: false, exit: 4 });
    expect(JSON.stringify(res?.error)).toContain('--max-time');
    expect(r.stderr).toContain('--max-time');
  });

  it('--retries retries a failed connection during reflection', async () => {
    const r = await runCli(['grpc', 'call', refused, GET, '--retries', '2', '--backoff', '10ms', '--json']);
    expect(r.code).toBe(3);
    const [res] = ndjson(r.stdout);
    const attempts = res?.attempts as Array<{ n: number; error: { kind: string } }>;
    expect(attempts.map((a) => a.error.kind)).toEqual(['connect', 'connect', 'connect']);
    const human = await runCli(['grpc', 'call', refused, GET, '--retries', '1', '--backoff', '10ms']);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/reflection attempt 1\/2/);
  });

  it('an open breaker stops a reflection-mode call before anything is sent (exit 5)', async () => {
    const state = join(tmp, 'breaker.json');
    const args = ['grpc', 'call', refused, GET, '--breaker', '2', '--breaker-state', state];
    expect((await runCli(args)).code).toBe(3);
    expect((await runCli(args)).code).toBe(3);
    const saved = JSON.parse(await readFile(state, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(saved)).toContain(refused);
    const open = await runCli([...args, '--json']);
    expect(open.code).toBe(5);
    expect(ndjson(open.stdout)[0]).toMatchObject({ exit: 5, error: { kind: 'breaker' } });
    expect(open.stderr).toContain('circuit breaker is open');
  });

  it('a successful reflection does not reset the breaker count of failing calls', async () => {
    const state = join(tmp, 'breaker-calls.json');
    const args = [
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail: UNAVAILABLE',
      '--breaker',
      '2',
      '--breaker-state',
      state,
    ];
    expect((await runCli(args)).code).toBe(1);
    expect((await runCli(args)).code).toBe(1);
    expect((await runCli(args)).code).toBe(5);
  });

  it('--timeout 0 means no deadline, not an immediate timeout', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}', '--timeout', '0']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sku: 'A1' });
  });
});
