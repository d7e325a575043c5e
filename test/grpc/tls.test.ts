import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGrpcServer, startGrpcServer } from '../../src/servers/grpc/server.js';
import { type GeneratedCerts, generateCerts } from '../../src/servers/tls/certs.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/** TLS and mutual TLS with certificates generated at test time. */
let plain: RunningGrpcServer;
let tls: RunningGrpcServer;
let mtls: RunningGrpcServer;
let certs: GeneratedCerts;

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
});

afterAll(async () => {
  killSurvivors();
  await Promise.all([plain?.close(), tls?.close(), mtls?.close()]);
  await rm(certs.dir, { recursive: true, force: true });
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
