import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** `nats reply`: counting answers, and --exec responders (environment, timeouts, Ctrl-C). */

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer();
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

describe('nats reply --count', () => {
  it('counts answers, not dropped requests', async () => {
    const rep = startCli(['nats', 'reply', 'rev.count', '--fail-first', '1', '--count', '2', ...s()]);
    await rep.waitFor(/replying on/, 'stderr');
    const ask = (body: string) =>
      runCli(['request', 'rev.count', body, '--timeout', '2s', '--retries', '2', '--backoff', '1ms', ...s()]);
    const one = await ask('first');
    expect(one.code).toBe(0); // the first attempt was dropped, the retry answered
    expect(one.stdout).toBe('first\n');
    expect(rep.child.exitCode).toBeNull(); // 1 answer of 2: still replying
    const two = await ask('second');
    expect(two.code).toBe(0);
    expect(two.stdout).toBe('second\n');
    expect((await rep.exited).code).toBe(0);
    expect(rep.stderr()).toMatch(/rev\.count: 3 requests, 2 answered, 1 dropped/);
  });
});

describe('nats reply --exec', () => {
  it('the environment names the message subject, the subscription and the request reply subject', async () => {
    const rep = startCli([
      'nats',
      'reply',
      'ex.*',
      '--exec',
      'printf "%s|%s|%s" "$NATS_SUBJECT" "$NATS_SUBSCRIPTION" "$NATS_REPLY_SUBJECT"',
      ...s(),
    ]);
    await rep.waitFor(/replying on/, 'stderr');
    const r = await runCli(['request', 'ex.1', 'x', '--raw', ...s()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ex\.1\|ex\.\*\|_INBOX\.\S+$/);
    rep.kill('SIGINT');
    expect((await rep.exited).code).toBe(130);
  });

  it('a command outliving --exec-timeout is killed and answered with error 504 (requester exit 1)', async () => {
    const rep = startCli([
      'nats',
      'reply',
      'ex.slow',
      '--exec',
      'sleep 60',
      '--exec-timeout',
      '200ms',
      ...s(),
    ]);
    await rep.waitFor(/replying on/, 'stderr');
    const r = await runCli(['request', 'ex.slow', 'x', '--timeout', '20s', ...s()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/service error 504: --exec command timed out after 200ms \(killed\)/);
    rep.kill('SIGINT');
    expect((await rep.exited).code).toBe(130);
  });

  it('Ctrl-C kills a running command (and what it started) instead of waiting for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comms-exec-'));
    const pidFile = join(dir, 'pid');
    try {
      const rep = startCli([
        'nats',
        'reply',
        'ex.hang',
        '--exec',
        `sleep 120 & echo $! > ${pidFile}; wait`,
        ...s(),
      ]);
      await rep.waitFor(/replying on/, 'stderr');
      const req = startCli(['request', 'ex.hang', 'x', '--timeout', '60s', ...s()]);
      await rep.waitFor(/Received on "ex\.hang"/);
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await sleep(20);
      const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
      rep.kill('SIGINT');
      expect((await rep.exited).code).toBe(130);
      // The grandchild is gone (kill -0 fails) once it has been reaped.
      const alive = () => {
        try {
          process.kill(sleeper, 0);
          return true;
        } catch {
          return false;
        }
      };
      while (alive()) await sleep(20);
      expect(alive()).toBe(false);
      req.kill('SIGINT');
      await req.exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--exec-timeout needs --exec', async () => {
    const r = await runCli(['nats', 'reply', 'ex.x', '--exec-timeout', '1s', ...s()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--exec-timeout needs --exec/);
  });
});
