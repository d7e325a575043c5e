import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGrpcServer, startGrpcServer } from '../../src/servers/grpc/server.js';
import { type GeneratedCerts, generateCerts } from '../../src/servers/grpc/tls.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * Regressions from review: the reflection step under --max-time, retries and the breaker; statuses
 * mistaken for failed connections; streams outliving their status; secrets in errors; bad input that
 * must exit 2; health --watch losing its server; fault headers the server cannot read.
 */
let server: RunningGrpcServer;
let addr: string;
let silent: Server;
let silentAddr: string;
let refused: string;
let certs: GeneratedCerts;
let tmp: string;
const sockets = new Set<Socket>();

const GET = 'inventory.Inventory/GetItem';
const RESERVE = 'inventory.Inventory/Reserve';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-review-'));
  server = await startGrpcServer();
  addr = server.address;
  certs = await generateCerts();
  // Accepts TCP and never says a word: neither the HTTP/2 preface nor a status ever comes back.
  silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentAddr = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  // A port nobody listens on: bind one, then close it.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  refused = `127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  killSurvivors();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await server.close();
  await rm(certs.dir, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
});

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('reflection step: --max-time, retries, breaker', () => {
  it('--max-time bounds the reflection lookup (exit 4, result names target and operation)', async () => {
    const r = await runCli(['grpc', 'call', silentAddr, GET, '--max-time', '500ms', '--json']);
    expect(r.code).toBe(4);
    const [res] = lines(r.stdout);
    expect(res).toMatchObject({ transport: 'grpc', target: silentAddr, operation: GET, ok: false, exit: 4 });
    expect(JSON.stringify(res?.error)).toContain('--max-time');
    expect(r.stderr).toContain('--max-time');
  });

  it('--retries retries a failed connection during reflection', async () => {
    const r = await runCli(['grpc', 'call', refused, GET, '--retries', '2', '--backoff', '10ms', '--json']);
    expect(r.code).toBe(3);
    const [res] = lines(r.stdout);
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
    expect(lines(open.stdout)[0]).toMatchObject({ exit: 5, error: { kind: 'breaker' } });
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

describe('bad input exits 2 and says why', () => {
  it('never echoes the value of a secret metadata key in an error', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-H', 'authorization: Bearer s3cr3t\x01', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('s3cr3t');
    expect(r.stdout).not.toContain('s3cr3t');
    expect(r.stderr).toContain('[REDACTED]');
  });

  it('TLS files that are not what their flag says, or that do not match', async () => {
    const junk = join(tmp, 'junk.pem');
    await writeFile(junk, 'not a pem file\n');
    const base = ['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}'];
    const ca = await runCli([...base, '--cacert', junk]);
    expect(ca.code).toBe(2);
    expect(ca.stderr).toMatch(/--cacert '.*junk.pem' is not a PEM certificate/);
    const key = await runCli([...base, '--tls', '--cert', certs.clientCert, '--key', certs.caCert]);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/--key '.*' is not a PEM private key/);
    const mismatch = await runCli([...base, '--tls', '--cert', certs.clientCert, '--key', certs.serverKey]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('do not match');
    for (const r of [ca, key, mismatch]) expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });

  it('unix: with no path, and invalid inline JSON against an unreachable target, exit 2', async () => {
    const unix = await runCli(['grpc', 'call', 'unix:', GET]);
    expect(unix.code).toBe(2);
    expect(unix.stderr).toContain('no socket path');
    const bad = await runCli(['grpc', 'call', refused, GET, '-d', '{bad']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid JSON in -d');
  });

  it('health --count without --watch is a usage error', async () => {
    const r = await runCli(['grpc', 'health', addr, '--count', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--count only applies with --watch');
  });

  it('describe of an unknown symbol names that symbol, not its guessed parent', async () => {
    const r = await runCli(['grpc', 'describe', addr, 'nope.X']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("symbol 'nope.X' not found");
  });
});

describe('describe --json', () => {
  it('keeps oneofIndex 0 (proto2 presence in descriptor JSON)', async () => {
    const r = await runCli([
      'grpc',
      'describe',
      '--proto',
      'test/fixtures/grpc/notes.proto',
      '-I',
      'test/fixtures/grpc',
      refused,
      'acme.notes.v2.CreateNoteRequest',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [res] = lines(r.stdout) as Array<{
      descriptor: { field: Array<{ name: string; oneofIndex?: number }> };
    }>;
    const fields = res?.descriptor.field ?? [];
    expect(fields.find((f) => f.name === 'is_public')?.oneofIndex).toBe(0);
    expect(fields.find((f) => f.name === 'title')?.oneofIndex).toBeUndefined();
  });
});

describe('health --watch and the test server', () => {
  it('--watch across a server shutdown exits 3 (lost connection)', async () => {
    const own = startCli(['serve', 'grpc', '--port', '0']);
    const ownAddr = (await own.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] as string;
    const watch = startCli(['grpc', 'health', ownAddr, '--watch']);
    await watch.waitFor(/SERVING/);
    own.kill('SIGINT');
    await own.exited;
    const { code } = await watch.exited;
    expect(code).toBe(3);
    expect(watch.stderr()).toContain('lost connection');
  }, 30_000);

  it('fault headers the server cannot read are answered INVALID_ARGUMENT naming them', async () => {
    const base = ['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}'];
    const fail = await runCli([...base, '-H', 'x-fail: BOGUS']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toContain("INVALID_ARGUMENT: invalid x-fail 'BOGUS'");
    const times = await runCli([...base, '-H', 'x-fail-times: abc']);
    expect(times.code).toBe(1);
    expect(times.stderr).toContain("invalid x-fail-times 'abc'");
  });

  it('x-stream-interval takes any duration', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      'inventory.Inventory/ListItems',
      '-d',
      '{"limit":2}',
      '-H',
      'x-stream-interval: 0.01s',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).filter((l) => l.type === 'message')).toHaveLength(2);
  });

  it('load mode reports the bytes received', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}', '-n', '5', '--json']);
    expect(r.code).toBe(0);
    const summary = lines(r.stdout).find((l) => l.type === 'summary');
    expect(summary).toBeDefined();
    expect(JSON.stringify(summary)).toMatch(/"bytes":[1-9]/);
  });
});
