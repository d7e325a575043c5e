import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';

/**
 * Issue 17: a subscriber whose stdout reader stalls, against a flood, keeps memory bounded (65,536
 * messages / 64 MiB pending, the Go client's defaults), says "slow consumer: N messages dropped" and
 * exits 1 because messages were lost.
 */

let server: NatsServer;
beforeAll(async () => {
  // The server must not cut the subscriber off itself: it reads its socket as fast as it can.
  server = await startNatsServer({ jetstream: false, config: 'max_pending: 1073741824' });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

describe.skipIf(process.platform !== 'linux')('slow consumer', () => {
  it('a stalled stdout reader: memory stays bounded, drops are reported, exit 1', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'nats', 'subscribe', 'flood', '--timeout', '15s', '-s', server.url, '-v'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    // stdout is never read until the flood is over: the pipe fills and stays full.
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const until = async (re: RegExp, ms: number) => {
      const end = Date.now() + ms;
      while (!re.test(stderr)) {
        if (Date.now() > end) throw new Error(`no ${re} on stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(/listening on/, 15_000);
      let peak = 0;
      const sampler = setInterval(() => {
        if (child.pid) peak = Math.max(peak, rssMb(child.pid));
      }, 100);
      // 600k messages of 1 KiB: 600 MiB, ten times what may wait for stdout.
      const pub = await runCli(
        ['nats', 'publish', 'flood', '-d', '@-', '--count', '600000', '-s', server.url],
        { input: 'x'.repeat(1024), timeoutMs: 90_000 },
      );
      expect(pub.code, pub.stderr).toBe(0);
      await until(/slow consumer on 'flood'/, 10_000);
      clearInterval(sampler);
      // Unbounded, it grew past the 600 MiB sent (3 GB in the report); bounded: 64 MiB plus Node itself.
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(400);
      child.stdout.resume();
      const code = await exited;
      expect(code).toBe(1);
      const m = /slow consumer: ([\d,]+) messages dropped/.exec(stderr);
      expect(m).not.toBeNull();
      expect(Number((m?.[1] ?? '0').replaceAll(',', ''))).toBeGreaterThan(100_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
