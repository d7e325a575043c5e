import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Retries, breaker, bad input and `serve grpc` itself, end to end against a spawned `comms-cli serve grpc`. */
let server: CliProcess;
let addr: string;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-resilience-'));
  server = startCli(['serve', 'grpc', '--port', '0']);
  addr = (await server.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] as string;
});

afterAll(async () => {
  server.kill('SIGINT');
  await server.exited;
  killSurvivors();
  await rm(tmp, { recursive: true, force: true });
});

const GET = 'inventory.Inventory/GetItem';
const json = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

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
    const [res] = json(r.stdout);
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
    expect(json(plain.stdout)[0]?.attempts).toHaveLength(1);
    const withFlag = await runCli([...args, '-H', 'x-key: ro-2', '--retry-on', 'RESOURCE_EXHAUSTED']);
    expect(withFlag.code).toBe(0);
    expect(json(withFlag.stdout)[0]?.attempts).toHaveLength(2);
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
    const attempts = json(r.stdout)[0]?.attempts as Array<{ waitMs?: number }>;
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

describe('grpc call: bad input exits 2 and sends nothing', () => {
  it.each([
    [
      ['inventory.Inventory/Nope'],
      /unknown method 'Nope' in service inventory.Inventory/,
      /methods: GetItem, ListItems, AddItems, Reserve/,
    ],
    [['nope.Missing/Get'], /symbol 'nope.Missing' not found/, /grpc list/],
    [[GET, '-d', '{"sku":'], /invalid JSON in -d/, /./],
    [
      [GET, '-d', '{"skew":"A1"}'],
      /unknown field 'skew' in request \(message inventory.GetItemRequest\)/,
      /fields: sku/,
    ],
    [[GET, '-d', '{"sku":7}'], /invalid request.sku: expected a string, got 7/, /./],
    [
      ['inventory.Inventory/ListItems', '-d', '{"category":"TOYS"}'],
      /"TOYS" is not a value of enum Category/,
      /TOOLS, GARDEN/,
    ],
    [['NoSlash'], /invalid method 'NoSlash'/, /pkg.Service\/Method/],
  ])('%j', async (args, message, hint) => {
    const r = await runCli(['grpc', 'call', addr, ...(args as string[])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(hint as RegExp);
    expect(r.stdout).toBe('');
  });

  it('rejects a bad target before connecting', async () => {
    const r = await runCli(['grpc', 'call', 'localhost', GET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("gRPC target 'localhost' has no port");
  });
});

describe('serve grpc', () => {
  it('prints host:port first on stdout and stops on Ctrl-C with exit 130', async () => {
    const p = startCli(['serve', 'grpc', '--port', '0', '--fail-rate', '1', '--fail-code', 'INTERNAL']);
    const other = (await p.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] as string;
    const r = await runCli(['grpc', 'call', other, GET, '-d', '{"sku":"A1"}', '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout)[0]).toMatchObject({ status: 'INTERNAL' });
    p.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
  });
});
