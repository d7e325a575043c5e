import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * Regressions found in review of `events`: reads that hung on JetStream, ids reused across
 * aggregates, lost auth codes, 3xx handled, down handlers dead-lettering everything, connection flags.
 */
const SLOW = 90_000;
/** A read that hangs is killed here and shows up as exit code null. */
const HANG_GUARD = { timeoutMs: 20_000 };

let tmp: string;
let nats: NatsServer;
let seq = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-events-reg-'));
  nats = await startNatsServer();
});
afterAll(async () => {
  killSurvivors();
  await nats?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function jetStore(): string[] {
  seq += 1;
  return ['--store', nats.url, '--stream', `REG_${seq}`];
}

describe('JetStream reads end when nothing matches (no hang)', () => {
  it.concurrent(
    'dispatch of an aggregate with no events, and a checkpointed re-run with nothing new, end with exit 0',
    async () => {
      const store = jetStore();
      const add = await runCli(['events', 'append', 'order-42', 'Placed', '--lines', ...store], {
        input: '{"n":1}\n{"n":2}\n',
      });
      expect(add.code, add.stderr).toBe(0);
      expect((await runCli(['events', 'append', 'other-1', 'Placed', ...store], HANG_GUARD)).code).toBe(0);

      const ghost = await runCli(
        ['events', 'dispatch', '--to', 'exec:cat', '--aggregate', 'ghost', ...store],
        HANG_GUARD,
      );
      expect(ghost.code, ghost.stderr).toBe(0);
      expect(ghost.stdout).toBe('');
      expect(ghost.stderr).toMatch(/dispatch: 0 handled/);

      const args = ['events', 'dispatch', '--to', 'exec:true', '--aggregate', 'order-42'];
      const first = await runCli([...args, '--checkpoint', 'agg42', ...store], HANG_GUARD);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/dispatch: 2 handled/);
      // other-1 comes after order-42's last event: the re-run has nothing from its checkpoint on.
      const again = await runCli([...args, '--checkpoint', 'agg42', ...store], HANG_GUARD);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/dispatch: 0 handled/);

      const read = await runCli(['events', 'read', '--all', '--from', '3', '--json', ...store], HANG_GUARD);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).toBe('');
    },
    SLOW,
  );

  it.concurrent(
    'read --all over a purged stream ends with exit 0 and no events',
    async () => {
      const store = jetStore();
      const stream = store[3]!;
      const add = await runCli(['events', 'append', 'p-1', 'E', '--lines', ...store], {
        input: '1\n2\n3\n',
      });
      expect(add.code, add.stderr).toBe(0);
      const nc = await connect({ servers: nats.url });
      try {
        await (await jetstreamManager(nc)).streams.purge(stream);
      } finally {
        await nc.close();
      }
      const read = await runCli(['events', 'read', '--all', '--json', ...store], HANG_GUARD);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).toBe('');
      const agg = await runCli(['events', 'read', 'p-1', ...store], HANG_GUARD);
      expect(agg.code, agg.stderr).toBe(0);
      expect(agg.stdout).toBe('');
      expect(agg.stderr).toMatch(/0 events in p-1/);
    },
    SLOW,
  );
});

describe('a JetStream store that asks for credentials', () => {
  let secured: NatsServer;
  beforeAll(async () => {
    secured = await startNatsServer({ config: 'authorization { user: ev, password: "s3cret-pw" }' });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it.concurrent(
    'a bad password is the NATS auth error (exit 3, COMMS_ERR_NATS_AUTH, its hint), naming the server once and no password',
    async () => {
      const url = `nats://ev:wrong-pw@127.0.0.1:${secured.port}`;
      const r = await runCli(['events', 'stats', '--store', url]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/authorization rejected/);
      expect(r.stderr.match(new RegExp(`127\\.0\\.0\\.1:${secured.port}`, 'g'))).toHaveLength(1);
      expect(r.stderr).toMatch(/--user\/--password/);
      expect(r.stderr).not.toMatch(/wrong-pw/);
      const j = await runCli(['events', 'stats', '--json', '--store', url]);
      expect(j.code).toBe(3);
      expect(lines(j.stdout)[0]).toMatchObject({ ok: false, error: { code: 'COMMS_ERR_NATS_AUTH' } });

      const good = await runCli([
        'events',
        'append',
        'a-1',
        'E',
        '--store',
        `nats://ev:s3cret-pw@127.0.0.1:${secured.port}`,
      ]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stderr).not.toMatch(/s3cret-pw/);
    },
    SLOW,
  );

  it.concurrent(
    '--user/--password reach the store and nats: handlers (the store server by default)',
    async () => {
      const plain = `nats://127.0.0.1:${secured.port}`;
      const creds = ['--user', 'ev', '--password', 's3cret-pw'];
      const store = ['--store', plain, '--stream', `AUTH_${++seq}`, ...creds];
      const denied = await runCli(['events', 'stats', '--store', plain]);
      expect(denied.code).toBe(3);
      expect(denied.stderr).toMatch(/authorization rejected/);

      const add = await runCli(['events', 'append', 'c-1', 'E', '--lines', ...store], { input: '1\n2\n' });
      expect(add.code, add.stderr).toBe(0);
      const subject = `auth.handle.${seq}`;
      const responder = startCli(['nats', 'reply', subject, '-s', plain, ...creds]);
      try {
        await responder.waitFor(/replying on/, 'stderr', 20_000);
        const r = await runCli(['events', 'dispatch', '--to', `nats:${subject}`, '--json', ...store]);
        expect(r.code, r.stderr).toBe(0);
        expect(lines(r.stdout).at(-1)).toMatchObject({ type: 'summary', handled: 2 });
        expect(r.stdout).not.toMatch(/s3cret-pw/);
      } finally {
        responder.kill('SIGTERM');
        await responder.exited;
      }
    },
    SLOW,
  );
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())('a JetStream store over TLS with a private CA', () => {
  let certs: TestCerts;
  let secure: NatsServer;
  beforeAll(async () => {
    certs = makeCerts();
    secure = await startNatsServer({
      config: `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }`,
    });
  });
  afterAll(async () => {
    await secure?.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it.concurrent(
    '--tls-ca makes a tls:// store usable; without it the TLS error is exit 3 with a --tls-ca hint',
    async () => {
      const store = ['--store', `tls://127.0.0.1:${secure.port}`, '--stream', `TLS_${++seq}`];
      const untrusted = await runCli(['events', 'stats', '--json', ...store]);
      expect(untrusted.code).toBe(3);
      expect(lines(untrusted.stdout)[0]).toMatchObject({
        error: { code: 'COMMS_ERR_TLS', hint: expect.stringMatching(/--tls-ca/) },
      });

      const trusted = [...store, '--tls-ca', certs.caCert];
      const add = await runCli(['events', 'append', 't-1', 'Secure', '-d', '{"n":1}', ...trusted]);
      expect(add.code, add.stderr).toBe(0);
      const read = await runCli(['events', 'read', 't-1', '--json', ...trusted], HANG_GUARD);
      expect(read.code, read.stderr).toBe(0);
      expect(lines(read.stdout)).toMatchObject([{ aggregate: 't-1', type: 'Secure', data: { n: 1 } }]);
      const stats = await runCli(['events', 'stats', '--json', ...trusted]);
      expect(lines(stats.stdout)[0]).toMatchObject({ events: 1 });
    },
    SLOW,
  );
});
