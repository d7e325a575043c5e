import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { refusedAddress } from '../kit/peers.js';
import { serveGrpc } from '../kit/serve.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** End to end against `comms-cli serve grpc` (spawned like a user would), reflection for the schema. */
let served: Awaited<ReturnType<typeof serveGrpc>>;
let addr: string;
let refused: string;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-calls-'));
  [served, refused] = await Promise.all([serveGrpc(), refusedAddress()]);
  addr = served.addr;
});

afterAll(async () => {
  await served?.stop();
  killSurvivors();
  await rm(tmp, { recursive: true, force: true });
});

const GET = 'inventory.Inventory/GetItem';
const RESERVE = 'inventory.Inventory/Reserve';

describe('grpc call: the four kinds', () => {
  it('unary: prints the response in the proto3 JSON mapping (int64 as string, enum by name, Timestamp RFC 3339)', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      sku: 'A1',
      name: 'Claw hammer',
      category: 'TOOLS',
      quantity: 12,
      priceCents: '1999',
      tags: ['steel'],
      updatedAt: '2025-01-01T00:00:00Z',
    });
    expect(r.stderr).toMatch(/^OK · /m);
  });

  it('accepts pkg.Service.Method and --emit-defaults shows zero values', async () => {
    const plain = await runCli(['grpc', 'call', addr, 'inventory.Inventory.GetItem', '-d', '{"sku":"B1"}']);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).not.toHaveProperty('quantity');
    const full = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"B1"}', '--emit-defaults']);
    expect(JSON.parse(full.stdout)).toMatchObject({ quantity: 0, sku: 'B1' });
  });

  it('server streaming: one JSON line per message as it arrives, then the result', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      'inventory.Inventory/ListItems',
      '-d',
      '{"category":"TOOLS"}',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    expect(lines.slice(0, 2).map((l) => [l.type, l.n, (l.data as { sku: string }).sku])).toEqual([
      ['message', 1, 'A1'],
      ['message', 2, 'A2'],
    ]);
    // The contract's one message shape, the same field names as nats/ws/sse/amqp/mqtt.
    for (const l of lines.slice(0, 2)) {
      expect(Object.keys(l).sort()).toEqual(
        ['type', 'transport', 'n', 'url', 'method', 'headers', 'data', 'encoding', 'size', 'received'].sort(),
      );
      expect(l).toMatchObject({
        transport: 'grpc',
        url: `grpc://${addr}/inventory.Inventory/ListItems`,
        method: 'inventory.Inventory/ListItems',
        headers: {},
        encoding: 'json',
      });
      expect(l.size).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(String(l.received)))).toBe(false);
    }
    expect(lines[2]).toMatchObject({
      transport: 'grpc',
      operation: 'inventory.Inventory/ListItems',
      ok: true,
      status: 'OK',
      messages: 2,
    });
    // Every phase from the attempt's start, on one clock: the first frame comes before the status.
    const timing = lines[2]?.timing as Record<string, number>;
    expect(timing.firstByte).toBeGreaterThanOrEqual(timing.connect ?? 0);
    expect(timing.total).toBeGreaterThanOrEqual(timing.firstByte as number);
  });

  it('client streaming: NDJSON and concatenated objects from stdin', async () => {
    const r = await runCli(['grpc', 'call', addr, 'inventory.Inventory/AddItems', '--json'], {
      input: '{"sku":"N1","quantity":2}\n{"sku":"N2","quantity":3} {"sku":"N3",\n "quantity":4}',
    });
    expect(r.code).toBe(0);
    const [result] = ndjson(r.stdout);
    expect(result).toMatchObject({
      ok: true,
      sent: 3,
      data: { added: 3, totalQuantity: 9, skus: ['N1', 'N2', 'N3'] },
    });
  });

  it('client streaming from -d @file', async () => {
    const file = join(tmp, 'items.ndjson');
    await writeFile(file, '{"sku":"F1","quantity":1}\n{"sku":"F2","quantity":1}\n');
    const r = await runCli(['grpc', 'call', addr, 'inventory.Inventory/AddItems', '-d', `@${file}`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 2, skus: ['F1', 'F2'] });
  });

  it('bidi: each stdin message is sent as it arrives and its reply printed before the next is written', async () => {
    const p = startCli(['grpc', 'call', addr, 'inventory.Inventory/Reserve', '--json']);
    p.child.stdin?.write('{"sku":"C1","quantity":1}\n');
    await p.waitFor(/"remaining":2/);
    p.child.stdin?.write('{"sku":"C1","quantity":5}\n');
    await p.waitFor(/not enough stock/);
    p.child.stdin?.end();
    const { code } = await p.exited;
    expect(code).toBe(0);
    const lines = ndjson(p.stdout());
    expect(lines.map((l) => l.type ?? 'result')).toEqual(['message', 'message', 'result']);
    expect(lines.slice(0, 2)).toMatchObject([
      {
        transport: 'grpc',
        n: 1,
        url: `grpc://${addr}/inventory.Inventory/Reserve`,
        headers: {},
        encoding: 'json',
      },
      {
        transport: 'grpc',
        n: 2,
        url: `grpc://${addr}/inventory.Inventory/Reserve`,
        headers: {},
        encoding: 'json',
      },
    ]);
    expect(lines.slice(0, 2).every((l) => typeof l.size === 'number' && typeof l.received === 'string')).toBe(
      true,
    );
    expect(lines.slice(0, 2).some((l) => 'seq' in l)).toBe(false);
    expect(lines[2]).toMatchObject({ ok: true, sent: 2, messages: 2 });
    const timing = lines[2]?.timing as Record<string, number>;
    expect(timing.firstByte).toBeGreaterThanOrEqual(timing.connect ?? 0);
    expect(timing.total).toBeGreaterThanOrEqual(timing.firstByte as number);
  });
});

describe('grpc call: metadata, statuses and exit codes', () => {
  it('sends -H metadata and shows response headers and trailers in --json and -v', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-echo-trace: t-42',
      '-H',
      'authorization: Bearer s3cret',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [res] = ndjson(r.stdout);
    expect(res?.headers).toMatchObject({ 'x-echo-trace': 't-42', 'x-server': 'comms-cli' });
    expect(res?.trailers).toMatchObject({ 'x-served-by': 'comms-cli serve grpc' });
    const v = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-echo-trace: t-43',
      '-H',
      'authorization: Bearer s3cret',
      '-v',
    ]);
    expect(v.stderr).toMatch(/^> x-echo-trace: t-43$/m);
    expect(v.stderr).toMatch(/^< x-echo-trace: t-43$/m);
    expect(v.stderr).toMatch(/^< trailer x-served-by: comms-cli serve grpc$/m);
    expect(v.stderr).toMatch(/^> authorization: \[REDACTED\]$/m);
    expect(v.stderr).not.toContain('s3cret');
  });

  it('a non-OK status exits 1 with its name, message and decoded google.rpc details', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"ZZ"}', '--json']);
    expect(r.code).toBe(1);
    const [res] = ndjson(r.stdout);
    expect(res).toMatchObject({
      ok: false,
      exit: 1,
      status: 'NOT_FOUND',
      message: "item 'ZZ' not found",
      error: { kind: 'response' },
    });
    expect(res?.details).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'ITEM_NOT_FOUND',
        domain: 'inventory',
        metadata: { sku: 'ZZ' },
      },
      {
        '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
        resourceType: 'inventory.Item',
        resourceName: 'ZZ',
        description: 'no such SKU',
      },
    ]);
    const human = await runCli(['grpc', 'call', addr, GET, '-d', '{}']);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('error: INVALID_ARGUMENT: sku is required');
    expect(human.stderr).toContain(
      'BadRequest {"fieldViolations":[{"field":"sku","description":"must not be empty"}]}',
    );
  });

  it.each([
    ['INTERNAL', 1],
    ['PERMISSION_DENIED', 1],
    ['UNAVAILABLE', 1],
    ['DEADLINE_EXCEEDED', 4],
  ])('a server answering %s exits %i', async (status, exit) => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      `x-fail: ${status}`,
      '--json',
    ]);
    expect(r.code).toBe(exit);
    expect(ndjson(r.stdout)[0]).toMatchObject({ status, exit });
  });

  it('--timeout is the deadline: a slow answer exits 4', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-delay: 2s',
      '--timeout',
      '300ms',
      '--json',
    ]);
    expect(r.code).toBe(4);
    expect(ndjson(r.stdout)[0]).toMatchObject({ ok: false, error: { kind: 'timeout' } });
  });

  it('a connection that cannot be made exits 3 with a hint', async () => {
    const r = await runCli([
      'grpc',
      'call',
      '127.0.0.1:1',
      GET,
      '--proto',
      'proto/inventory.proto',
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(r.stderr).toContain('hint: is the server running');
  });
});

describe('statuses are not connection failures', () => {
  it('UNAVAILABLE "Failed to connect to upstream database" from the server is exit 1, no --tls hint', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-H',
      'x-fail: UNAVAILABLE',
      '-H',
      'x-fail-message: Failed to connect to upstream database',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNAVAILABLE: Failed to connect to upstream database');
    expect(r.stderr).not.toContain('--tls');
  });

  it('a refused connection is still exit 3', async () => {
    const r = await runCli(['grpc', 'call', '--proto', 'proto/inventory.proto', refused, GET]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot connect');
  });
});

describe('streams end with their status', () => {
  it('bidi: an error status ends the process while stdin is still open', async () => {
    const p: CliProcess = startCli(['grpc', 'call', addr, RESERVE, '-H', 'x-fail: INTERNAL']);
    p.child.stdin?.write('{"sku":"A1","quantity":1}\n'); // the writer stays open: no end()
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr()).toContain('INTERNAL');
  }, 20_000);

  it('client streaming: an error status ends the process while stdin is still open', async () => {
    const p = startCli(['grpc', 'call', addr, 'inventory.Inventory/AddItems', '-H', 'x-fail: INTERNAL']);
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr()).toContain('INTERNAL');
  }, 20_000);
});
