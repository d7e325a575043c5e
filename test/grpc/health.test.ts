import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGrpcServer, startGrpcServer } from '../../src/servers/grpc/server.js';
import { type GeneratedCerts, generateCerts } from '../../src/servers/grpc/tls.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Health checks (Check and Watch) and TLS / mutual TLS with certificates generated at test time. */
let plain: RunningGrpcServer;
let tls: RunningGrpcServer;
let mtls: RunningGrpcServer;
let certs: GeneratedCerts;
let silent: Server;
let silentAddr: string;
const sockets = new Set<Socket>();

const PROTO = ['--proto', 'proto/inventory.proto'];
const GET = 'inventory.Inventory/GetItem';

beforeAll(async () => {
  certs = await generateCerts();
  const [ca, cert, key] = await Promise.all([
    readFile(certs.caCert),
    readFile(certs.serverCert),
    readFile(certs.serverKey),
  ]);
  [plain, tls, mtls] = await Promise.all([
    startGrpcServer(),
    startGrpcServer({ tls: { cert, key } }),
    startGrpcServer({ tls: { cert, key, ca, requireClientCert: true } }),
  ]);
  // Accepts TCP connections and never says a word: a peer that hangs.
  silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const a = silent.address();
  silentAddr = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

afterAll(async () => {
  killSurvivors();
  await Promise.all([plain?.close(), tls?.close(), mtls?.close()]);
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await rm(certs.dir, { recursive: true, force: true });
});

describe('grpc health', () => {
  it('SERVING exits 0; NOT_SERVING and SERVICE_UNKNOWN exit 1', async () => {
    const ok = await runCli(['grpc', 'health', plain.address]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('SERVING\n');
    plain.health.set('inventory.Inventory', 'NOT_SERVING');
    const down = await runCli(['grpc', 'health', plain.address, 'inventory.Inventory', '--json']);
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout)).toMatchObject({
      ok: false,
      exit: 1,
      servingStatus: 'NOT_SERVING',
      service: 'inventory.Inventory',
    });
    plain.health.set('inventory.Inventory', 'SERVING');
    const unknown = await runCli(['grpc', 'health', plain.address, 'no.Such']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('SERVICE_UNKNOWN\n');
  });

  it('unreachable exits 3, a peer that never answers exits 4', async () => {
    const refused = await runCli(['grpc', 'health', '127.0.0.1:1']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('ECONNREFUSED');
    const hung = await runCli(['grpc', 'health', silentAddr, '--timeout', '500ms']);
    expect(hung.code).toBe(4);
  });

  it('--watch follows changes until Ctrl-C (exit 130)', async () => {
    const p = startCli(['grpc', 'health', plain.address, 'inventory.Inventory', '--watch', '--json']);
    await p.waitFor(/"status":"SERVING"/);
    plain.health.set('inventory.Inventory', 'NOT_SERVING');
    await p.waitFor(/"status":"NOT_SERVING"/);
    plain.health.set('inventory.Inventory', 'SERVING');
    await p.waitFor(/"status":"NOT_SERVING"[^\n]*\n[^\n]*"status":"SERVING"/);
    p.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
    const statuses = p
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).status);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });

  it('--watch --count stops by itself', async () => {
    const r = await runCli(['grpc', 'health', plain.address, '--watch', '--count', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('SERVING\n');
  });
});

describe('transport security', () => {
  it('plaintext is the default; TLS with --cacert verifies the server', async () => {
    const r = await runCli([
      'grpc',
      'call',
      tls.address,
      GET,
      '--cacert',
      certs.caCert,
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sku: 'A1' });
    expect(r.stderr).not.toContain('DeprecationWarning');
  });

  it('an untrusted certificate exits 3 with a --cacert / -k hint; -k connects anyway', async () => {
    const bad = await runCli(['grpc', 'call', tls.address, GET, '--tls', ...PROTO, '-d', '{"sku":"A1"}']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/TLS handshake with .* failed: .*certificate/);
    expect(bad.stderr).toContain('--cacert FILE, or -k/--insecure');
    const insecure = await runCli(['grpc', 'call', tls.address, GET, '-k', '-d', '{"sku":"A1"}']);
    expect(insecure.code).toBe(0);
  });

  it('a name the certificate does not hold fails unless --servername fixes it', async () => {
    const wrong = await runCli([
      'grpc',
      'call',
      tls.address,
      GET,
      '--cacert',
      certs.caCert,
      '--servername',
      'example.com',
      ...PROTO,
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(wrong.code).toBe(3);
    const right = await runCli([
      'grpc',
      'call',
      tls.address,
      GET,
      '--cacert',
      certs.caCert,
      '--servername',
      'localhost',
      ...PROTO,
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(right.code).toBe(0);
  });

  it('mutual TLS: without a client certificate exit 3 with a hint, with one exit 0', async () => {
    const without = await runCli([
      'grpc',
      'call',
      mtls.address,
      GET,
      '--cacert',
      certs.caCert,
      ...PROTO,
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(without.code).toBe(3);
    expect(without.stderr).toContain('--cert FILE --key FILE');
    const withCert = await runCli([
      'grpc',
      'call',
      mtls.address,
      GET,
      '--cacert',
      certs.caCert,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
      '-d',
      '{"sku":"A1"}',
    ]);
    expect(withCert.code).toBe(0);
    const health = await runCli([
      'grpc',
      'health',
      mtls.address,
      '--cacert',
      certs.caCert,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    ]);
    expect(health.code).toBe(0);
  });

  it('a missing certificate file is exit 2', async () => {
    const r = await runCli(['grpc', 'call', tls.address, GET, '--cacert', '/nonexistent/ca.pem']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read --cacert file '/nonexistent/ca.pem'");
  });
});
