import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { runCli } from '../kit/spawn-cli.js';

const servers: NatsServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(config: string): Promise<NatsServer> {
  const s = await startNatsServer({ jetstream: false, config });
  servers.push(s);
  return s;
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('token auth', () => {
  let srv: NatsServer;
  beforeAll(async () => {
    srv = await server('authorization { token: "tok-s3cret" }');
  });

  it('the right token connects', async () => {
    const r = await runCli(['publish', 'a', 'b', '-s', srv.url, '--token', 'tok-s3cret']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('tok-s3cret');
  });

  it('NATS_TOKEN from the environment connects too', async () => {
    const r = await runCli(['publish', 'a', 'b', '-s', srv.url], { env: { NATS_TOKEN: 'tok-s3cret' } });
    expect(r.code).toBe(0);
  });

  it('a wrong or missing token: exit 3, one clear line, no secret', async () => {
    for (const extra of [['--token', 'wrong-token'], []]) {
      const r = await runCli(['request', 'a', 'b', '-s', srv.url, ...extra, '--json']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/authorization rejected by nats:\/\/127\.0\.0\.1:\d+/);
      expect(r.stderr).toMatch(/hint: check --user\/--password, --token/);
      expect(r.stderr + r.stdout).not.toContain('wrong-token');
      expect(JSON.parse(r.stdout)).toMatchObject({
        exit: 3,
        status: 'unauthorized',
        error: { kind: 'connect', code: 'COMMS_ERR_NATS_AUTH' },
      });
      noStack(r.stderr);
    }
  });
});

describe('user/password auth', () => {
  let srv: NatsServer;
  beforeAll(async () => {
    srv = await server('authorization { user: alice, password: "pa55-word" }');
  });

  it('good credentials (flags or URL) connect', async () => {
    expect(
      (await runCli(['publish', 'a', 'b', '-s', srv.url, '--user', 'alice', '--password', 'pa55-word'])).code,
    ).toBe(0);
    const inUrl = srv.url.replace('nats://', 'nats://alice:pa55-word@');
    const r = await runCli(['publish', 'a', 'b', '-s', inUrl, '-v']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('pa55-word');
  });

  it('a bad password is rejected (exit 3) and never printed', async () => {
    const r = await runCli([
      'subscribe',
      'a',
      '-s',
      srv.url,
      '--user',
      'alice',
      '--password',
      'nope-nope',
      '--count',
      '1',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/authorization rejected/);
    expect(r.stderr).not.toContain('nope-nope');
    noStack(r.stderr);
    const inUrl = srv.url.replace('nats://', 'nats://alice:nope-nope@');
    const u = await runCli(['publish', 'a', 'b', '-s', inUrl]);
    expect(u.code).toBe(3);
    expect(u.stderr).toContain('[REDACTED]@127.0.0.1');
    expect(u.stderr).not.toContain('nope-nope');
  });

  it('--password without --user is a usage error', async () => {
    const r = await runCli(['publish', 'a', 'b', '-s', srv.url, '--password', 'x']);
    expect(r.code).toBe(2);
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())('TLS', () => {
  let dir: string;
  let srv: NatsServer;
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'comms-nats-tls-'));
    // A throwaway CA and a server certificate for 127.0.0.1, made for this run only.
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=comms-cli test CA',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
    srv = await server(
      `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}" }`,
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--tls-ca verifies the server: publish and request work over TLS', async () => {
    const pub = await runCli(['publish', 'secure', 'x', '-s', srv.url, '--tls-ca', join(dir, 'ca.pem')]);
    expect(pub.code).toBe(0);
    const tlsUrl = srv.url.replace('nats://', 'tls://');
    const nobody = await runCli(['request', 'secure', 'x', '-s', tlsUrl, '--tls-ca', join(dir, 'ca.pem')]);
    expect(nobody.code).toBe(3);
    expect(nobody.stderr).toMatch(/no responders/);
  });

  it('an unknown CA fails the handshake: exit 3 with a hint', async () => {
    const r = await runCli(['publish', 'secure', 'x', '-s', srv.url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to nats:\/\/127\.0\.0\.1:\d+: .*(TLS|certificate)/i);
    expect(r.stderr).toMatch(/--tls-ca/);
    noStack(r.stderr);
  });

  it('a missing --tls-ca file is a usage error', async () => {
    const r = await runCli(['publish', 'secure', 'x', '-s', srv.url, '--tls-ca', join(dir, 'nope.pem')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read --tls-ca file/);
  });
});

describe('credentials in a bad server URL never reach output', () => {
  const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; flag: RegExp }> = [
    {
      name: '-s nats://user:pass@host:notaport',
      args: ['nats', 'publish', 'a.b', 'x', '-s', 'nats://alice:s3cretPW@127.0.0.1:notaport'],
      flag: /invalid --server 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: '-s user:pass@host:port (no scheme)',
      args: ['nats', 'publish', 'a.b', 'x', '-s', 'alice:s3cretPW@127.0.0.1:4222'],
      flag: /invalid --server '\[REDACTED\]@127\.0\.0\.1:4222'/,
    },
    {
      name: 'NATS_URL',
      args: ['nats', 'request', 'a.b', 'x'],
      env: { NATS_URL: 'nats://alice:s3cretPW@127.0.0.1:notaport' },
      flag: /invalid NATS_URL 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: 'a password holding @',
      args: ['nats', 'subscribe', 'a.b', '-s', 'nats://alice:s3c@retPW@127.0.0.1:notaport'],
      flag: /invalid --server 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: 'events stats --store',
      args: ['events', 'stats', '--store', 'nats://alice:s3cretPW@127.0.0.1:notaport'],
      flag: /\[REDACTED\]@127\.0\.0\.1:notaport/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args, c.env ? { env: c.env } : {});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(c.flag);
      expect(r.stdout + r.stderr).not.toMatch(/s3c(ret)?/);
      expect(r.stdout + r.stderr).not.toContain('PW');
    });
  }

  it('an unreachable server with credentials: exit 3, redacted', async () => {
    const r = await runCli(['nats', 'request', 'a.b', 'x', '-s', 'nats://alice:s3c@ret/PW@127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[REDACTED]@');
    expect(r.stdout + r.stderr).not.toMatch(/s3c|PW/);
  });
});

// Requests use one inbox subscription of their own (request-mux.ts): a denied publish to the subject
// or a denied inbox subscription must still fail each request at once, as nats.js' request did.
describe('permissions on requests', () => {
  let srv: NatsServer;
  beforeAll(async () => {
    srv = await server(`authorization { users = [
      { user: pubdeny, password: p, permissions: { publish: { deny: ["secret.>"] } } },
      { user: subdeny, password: p, permissions: { subscribe: { deny: ["_INBOX.>"] } } }
    ] }`);
  });
  const url = (user: string) => srv.url.replace('nats://', `nats://${user}:p@`);

  it('a denied publish to the subject fails the request at once (not at --timeout)', async () => {
    const r = await runCli(['request', 'secret.x', 'hi', '-s', url('pubdeny'), '--timeout', '20s', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      error: { message: 'Permissions Violation for Publish to "secret.x"' },
    });
    const load = await runCli([
      'request',
      'secret.x',
      'hi',
      '-s',
      url('pubdeny'),
      '--timeout',
      '20s',
      '-n',
      '6',
      '-c',
      '3',
      '--json',
    ]);
    const summary = JSON.parse(load.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary).toMatchObject({ requests: 6, errors: 6, errorKinds: { response: 6 } });
    expect(summary.durationMs).toBeLessThan(20_000);
  });

  it('a denied inbox subscription fails the request at once', async () => {
    const r = await runCli(['request', 'open.x', 'hi', '-s', url('subdeny'), '--timeout', '20s', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.message).toMatch(
      /^Permissions Violation for Subscription to "_INBOX\./,
    );
  });
});
