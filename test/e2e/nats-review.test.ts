import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { killSurvivors, runCli, startCli } from '../helpers/spawn-cli.js';

/** Regression tests for the NATS review findings (one describe per finding). */

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer();
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
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
