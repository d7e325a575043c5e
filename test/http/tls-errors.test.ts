import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * TLS failures explained with what comms-cli knows (issue 10, issue 17 "error messages with
 * context"): each says what is wrong and gives only the hint that helps with it.
 */

let certs: TestCerts;
let dir: string;
let expiredCert: string;
const servers: Array<{ close(): unknown }> = [];

/** A server certificate from the test CA that expired on 2020-01-02, made with `openssl ca`. */
function makeExpired(): string {
  const ca = join(dir, 'ca');
  mkdirSync(join(ca, 'newcerts'), { recursive: true });
  writeFileSync(join(ca, 'index.txt'), '');
  writeFileSync(join(ca, 'serial'), '01\n');
  writeFileSync(
    join(ca, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${join(ca, 'index.txt')}`,
      `new_certs_dir = ${join(ca, 'newcerts')}`,
      `serial = ${join(ca, 'serial')}`,
      'default_md = sha256',
      'policy = p',
      'x509_extensions = ext',
      '[p]',
      'commonName = supplied',
      '[ext]',
      'subjectAltName = DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  const csr = join(ca, 'srv.csr');
  execFileSync('openssl', ['req', '-new', '-key', certs.serverKey, '-out', csr, '-subj', '/CN=localhost'], {
    stdio: 'ignore',
  });
  const out = join(ca, 'expired.crt');
  execFileSync(
    'openssl',
    [
      'ca',
      '-config',
      join(ca, 'ca.cnf'),
      '-keyfile',
      join(certs.dir, 'ca.key'),
      '-cert',
      certs.caCert,
      '-in',
      csr,
      '-out',
      out,
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200102000000Z',
      '-batch',
      '-notext',
    ],
    { stdio: 'ignore' },
  );
  return out;
}

beforeAll(() => {
  certs = makeCerts();
  dir = mkdtempSync(join(tmpdir(), 'comms-tls-'));
  expiredCert = makeExpired();
});
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function https(options: Record<string, unknown>): Promise<number> {
  const server = createHttpsServer(
    { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey), ...options },
    (_req, res) => res.end('secure'),
  );
  servers.push(server);
  return listen(server);
}

describe('TLS errors with context', () => {
  it('mTLS without a client certificate says so and hints --cert/--key (exit 3)', async () => {
    const port = await https({ ca: certs.read(certs.caCert), requestCert: true, rejectUnauthorized: true });
    const r = await runCli(['http', 'get', `https://localhost:${port}/`, '--cacert', certs.caCert]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/requires a client certificate/);
    expect(r.stderr).toMatch(/hint: .*--cert FILE --key FILE/);
    expect(r.stderr).not.toMatch(/other side closed/);
  });

  it('--cert with a key that is not its own is exit 2 naming both flags, nothing sent', async () => {
    const r = await runCli([
      'http',
      'get',
      'https://127.0.0.1:9/',
      '--cert',
      certs.clientCert,
      '--key',
      certs.serverKey,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--cert '${certs.clientCert}' and --key '${certs.serverKey}' do not match`);
  });

  it('a file that is not a certificate is refused as --cacert (exit 2)', async () => {
    const r = await runCli(['http', 'get', 'https://127.0.0.1:9/', '--cacert', certs.serverKey]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cacert .* is not a PEM certificate/);
  });

  it('a wrong --servername is named, without the hint to "use --servername"', async () => {
    const port = await https({});
    const r = await runCli([
      'http',
      'get',
      `https://127.0.0.1:${port}/`,
      '--cacert',
      certs.caCert,
      '--servername',
      'nothere.example',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/does not name 'nothere\.example' \(--servername\)/);
    expect(r.stderr).not.toMatch(/use --servername/);
  });

  it('an expired certificate says it expired and when, not "pass the CA"', async () => {
    const port = await https({ cert: certs.read(expiredCert) });
    const r = await runCli(['http', 'get', `https://localhost:${port}/`, '--cacert', certs.caCert]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/certificate expired on 2020-01-02T00:00:00/);
    expect(r.stderr).not.toMatch(/--cacert/);
  });

  it('a TLS server that speaks neither HTTP/2 nor HTTP/1.1 (ALPN) gets no CA hint', async () => {
    const server = createTlsServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey), ALPNProtocols: ['grpc-exp'] },
      (socket) => socket.end(),
    );
    servers.push(server);
    const port = await listen(server);
    const r = await runCli([
      'http',
      'get',
      `https://localhost:${port}/`,
      '--http2',
      '--cacert',
      certs.caCert,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/accepted none of the protocols offered over ALPN \(h2, http\/1\.1\)/);
    expect(r.stderr).not.toMatch(/--cacert/);
  });
});
