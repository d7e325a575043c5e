import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts } from '../kit/certs.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { refusedAddress } from '../kit/peers.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * Habits people bring from the nats CLI (issue 15): its context files (--context, NATS_CONTEXT,
 * context.txt) and `request --replies N` (scatter-gather). A private nats-server with user/password
 * auth; HOME is a temp folder holding the contexts, and the NATS_* environment is cleared.
 */
let srv: NatsServer;
let home = '';
let refused = '';
const responders: CliProcess[] = [];

const CLEAN_ENV = {
  NATS_URL: undefined,
  NATS_USER: undefined,
  NATS_PASSWORD: undefined,
  NATS_TOKEN: undefined,
  NATS_CREDS: undefined,
  NATS_NKEY: undefined,
  NATS_CONTEXT: undefined,
  XDG_CONFIG_HOME: undefined,
};
const envWith = (extra: Record<string, string> = {}) => ({ ...CLEAN_ENV, HOME: home, ...extra });

function writeContext(name: string, body: Record<string, string>): void {
  writeFileSync(join(home, '.config/nats/context', `${name}.json`), JSON.stringify(body, null, 2));
}
function select(name: string): void {
  writeFileSync(join(home, '.config/nats/context.txt'), `${name}\n`);
}

beforeAll(async () => {
  srv = await startNatsServer({
    jetstream: false,
    config: 'authorization { user: alice, password: "pw-s3cret" }',
  });
  refused = await refusedAddress();
  home = mkdtempSync(join(tmpdir(), 'comms-nats-home-'));
  mkdirSync(join(home, '.config/nats/context'), { recursive: true });
  writeContext('dev', { description: 'the test server', url: srv.url, user: 'alice', password: 'pw-s3cret' });
  writeContext('wrong', { url: srv.url, user: 'alice', password: 'not-it' });
  select('dev');
});
afterAll(async () => {
  for (const r of responders) r.kill('SIGKILL');
  killSurvivors();
  await srv?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('nats CLI contexts', () => {
  it('the context selected in context.txt gives the server and credentials', async () => {
    select('dev');
    const r = await runCli(['nats', 'publish', 'ctx.a', 'hello'], { env: envWith() });
    expect(r.stderr).not.toContain('pw-s3cret');
    expect(r.code, r.stderr).toBe(0);
  });

  it('--context NAME and NATS_CONTEXT choose another one; --context beats NATS_CONTEXT', async () => {
    select('wrong');
    const selected = await runCli(['nats', 'publish', 'ctx.a', 'x'], { env: envWith() });
    expect(selected.code).toBe(3);
    expect(selected.stderr).not.toContain('not-it');
    const flag = await runCli(['nats', 'publish', 'ctx.a', 'x', '--context', 'dev'], { env: envWith() });
    expect(flag.code, flag.stderr).toBe(0);
    const env = await runCli(['nats', 'publish', 'ctx.a', 'x'], { env: envWith({ NATS_CONTEXT: 'dev' }) });
    expect(env.code, env.stderr).toBe(0);
    const both = await runCli(['nats', 'publish', 'ctx.a', 'x', '--context', 'dev'], {
      env: envWith({ NATS_CONTEXT: 'wrong' }),
    });
    expect(both.code, both.stderr).toBe(0);
    select('dev');
  });

  it('flags and the environment still win over the context', async () => {
    const pw = await runCli(['nats', 'publish', 'ctx.a', 'x', '--password', 'bad'], { env: envWith() });
    expect(pw.code).toBe(3);
    const server = await runCli(['nats', 'publish', 'ctx.a', 'x', '-s', refused], { env: envWith() });
    expect(server.code).toBe(3);
    expect(server.stderr).toContain(refused);
    const envUrl = await runCli(['nats', 'publish', 'ctx.a', 'x'], { env: envWith({ NATS_URL: refused }) });
    expect(envUrl.code).toBe(3);
    const envPw = await runCli(['nats', 'publish', 'ctx.a', 'x'], { env: envWith({ NATS_PASSWORD: 'bad' }) });
    expect(envPw.code).toBe(3);
  });

  it('a context that does not exist is exit 2 naming it', async () => {
    for (const [args, env, from] of [
      [['--context', 'nope'], {}, '--context'],
      [[], { NATS_CONTEXT: 'nope' }, 'NATS_CONTEXT'],
    ] as const) {
      const r = await runCli(['nats', 'publish', 'ctx.a', 'x', ...args], { env: envWith(env) });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`NATS context 'nope' does not exist \\(from ${from}\\)`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    select('gone');
    const stale = await runCli(['nats', 'publish', 'ctx.a', 'x'], { env: envWith() });
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/NATS context 'gone' does not exist \(from .*context\.txt\)/);
    select('dev');
  });
});

describe('a context with a token and TLS files (mutual TLS, paths under ~)', () => {
  let secure: NatsServer;
  let certsDir = '';
  beforeAll(async () => {
    const certs = makeCerts();
    certsDir = certs.dir;
    secure = await startNatsServer({
      jetstream: false,
      config: `authorization { token: "tok-s3cret" }
tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.caCert}", verify: true }`,
    });
    mkdirSync(join(home, 'certs'), { recursive: true });
    copyFileSync(certs.caCert, join(home, 'certs/ca.pem'));
    copyFileSync(certs.clientCert, join(home, 'certs/client.pem'));
    copyFileSync(certs.clientKey, join(home, 'certs/client.key'));
    const tls = { ca: '~/certs/ca.pem', cert: '~/certs/client.pem', key: '~/certs/client.key' };
    writeContext('secure', { url: secure.url, token: 'tok-s3cret', ...tls });
    writeContext('secure-no-token', { url: secure.url, ...tls });
    writeContext('secure-no-cert', { url: secure.url, token: 'tok-s3cret', ca: '~/certs/ca.pem' });
  });
  afterAll(async () => {
    await secure?.stop();
    if (certsDir) rmSync(certsDir, { recursive: true, force: true });
  });

  it('connects with the token, CA and client certificate of the context', async () => {
    const r = await runCli(['nats', 'publish', 'sec.a', 'x', '--context', 'secure'], { env: envWith() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('tok-s3cret');
  });

  it('without its token (exit 3) or its client certificate the same server refuses, as with flags', async () => {
    const noToken = await runCli(['nats', 'publish', 'sec.a', 'x', '--context', 'secure-no-token'], {
      env: envWith(),
    });
    expect(noToken.code, noToken.stderr).toBe(3);
    // Without a client certificate the handshake fails as it does with the same settings as flags
    // (the server drops the connection; nats.js reports it as the connect timing out).
    const noCert = await runCli(
      ['nats', 'publish', 'sec.a', 'x', '--context', 'secure-no-cert', '--timeout', '2s'],
      {
        env: envWith(),
      },
    );
    const sameAsFlags = await runCli(
      [
        'nats',
        'publish',
        'sec.a',
        'x',
        '-s',
        secure.url,
        '--token',
        'tok-s3cret',
        '--tls-ca',
        join(home, 'certs/ca.pem'),
        '--timeout',
        '2s',
      ],
      { env: envWith() },
    );
    expect(noCert.code).not.toBe(0);
    expect(noCert.code).toBe(sameAsFlags.code);
    // ...and --token on the command line fills the gap
    const flag = await runCli(
      ['nats', 'publish', 'sec.a', 'x', '--context', 'secure-no-token', '--token', 'tok-s3cret'],
      {
        env: envWith(),
      },
    );
    expect(flag.code, flag.stderr).toBe(0);
  });
});

describe('nats request --replies N (scatter-gather)', () => {
  beforeAll(async () => {
    for (const i of [1, 2, 3]) {
      const rep = startCli(['nats', 'reply', 'sg.who', '--body', `member-${i}`, '--context', 'dev'], {
        env: envWith(),
      });
      responders.push(rep);
      await rep.waitFor(/replying on/, 'stderr');
    }
  });

  it('prints each of N replies and exits 0 when all N arrived', async () => {
    const r = await runCli(
      ['nats', 'request', 'sg.who', 'hi', '--replies', '3', '--timeout', '10s', '--raw'],
      {
        env: envWith(),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['member-1', 'member-2', 'member-3']);
    expect(r.stderr).toMatch(/3 replies from sg\.who/);

    const json = await runCli(
      ['nats', 'request', 'sg.who', 'hi', '--replies', '2', '--timeout', '10s', '--json'],
      {
        env: envWith(),
      },
    );
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ transport: 'nats', type: 'message', n: 1 });
  });

  it('fewer than N by the timeout: exit 4, the count named, the replies that came printed', async () => {
    const r = await runCli(
      ['nats', 'request', 'sg.who', 'hi', '--replies', '4', '--timeout', '1500ms', '--raw'],
      {
        env: envWith(),
      },
    );
    expect(r.code).toBe(4);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toMatch(/3 of 4 replies on 'sg\.who' within 1\.50s/);
  });

  it('nobody listening is exit 3 (no responders); --replies with --retries is exit 2', async () => {
    const none = await runCli(['nats', 'request', 'sg.nobody', 'hi', '--replies', '2', '--timeout', '5s'], {
      env: envWith(),
    });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no responders on 'sg\.nobody'/);
    const retries = await runCli(['nats', 'request', 'sg.who', '--replies', '2', '--retries', '2'], {
      env: envWith(),
    });
    expect(retries.code).toBe(2);
    expect(retries.stderr.trim().split('\n')).toHaveLength(1);
  });
});
