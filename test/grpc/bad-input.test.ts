import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGrpcServer, startGrpcServer } from '../../src/servers/grpc/server.js';
import { type GeneratedCerts, generateCerts } from '../../src/servers/tls/certs.js';
import { refusedAddress } from '../kit/peers.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/** Bad input exits 2, says why, and sends nothing: flags, metadata, TLS files, targets, JSON. */
let server: RunningGrpcServer;
let addr: string;
let refused: string;
let certs: GeneratedCerts;
let tmp: string;

const GET = 'inventory.Inventory/GetItem';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-bad-input-'));
  [server, certs, refused] = await Promise.all([startGrpcServer(), generateCerts(), refusedAddress()]);
  addr = server.address;
});

afterAll(async () => {
  killSurvivors();
  await server.close();
  await rm(certs.dir, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
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
