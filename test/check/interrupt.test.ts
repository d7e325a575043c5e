import { existsSync, readFileSync, watch } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killSurvivors, startCli } from '../kit/spawn-cli.js';
import { checkDir, events } from './kit.js';

/**
 * A server the test steers: /comp (the compensation) is held until the test releases it, /hold (a
 * background step) stays open until the client goes, and every arrival and every closed request
 * is an event the test can wait on (no sleeps).
 */
class Steered {
  readonly seen: string[] = [];
  readonly closed: string[] = [];
  #waiters: Array<() => void> = [];
  #held: ServerResponse[] = [];
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.seen.push(path);
      res.on('close', () => {
        if (!res.writableFinished) this.closed.push(path);
        this.#notify();
      });
      this.#notify();
      if (path === '/fail') return void res.writeHead(500).end('{"error":"boom"}');
      if (path === '/comp' || path === '/hold') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        if (path === '/comp') this.#held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((r) => this.#waiters.push(r));
  }

  release(): void {
    for (const res of this.#held.splice(0)) res.end('{"undone":true}');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let srv: Steered | undefined;
afterEach(async () => {
  killSurvivors();
  await srv?.stop();
  srv = undefined;
});

const saga = (url: string) => `vars: {api: "${url}"}
checks:
  - name: saga
    steps:
      - id: hold
        http: {method: get, url: "{{api}}/hold"}
        background: true
      - name: create
        http: {method: post, url: "{{api}}/create"}
        compensate:
          - name: undo create
            http: {method: delete, url: "{{api}}/comp"}
      - name: charge
        http: {method: get, url: "{{api}}/fail"}
    finally:
      - name: clean up
        http: {method: get, url: "{{api}}/finally"}
  - name: later
    steps:
      - http: {method: get, url: "{{api}}/later"}
`;

describe('check: Ctrl-C while a compensation runs', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`a first ${signal}: the compensation finishes, finally runs, the background step is closed, reports are written, exit 130`, async () => {
      srv = new Steered();
      await srv.start();
      const s = srv;
      const dir = checkDir({ 'saga.check.yaml': saga(s.url) });
      const cli = startCli(
        ['check', 'saga.check.yaml', '--report', 'json:report.ndjson', '--report', 'junit:report.xml'],
        { cwd: dir },
      );
      await s.until(() => s.seen.includes('/comp'));
      cli.kill(signal);
      await cli.waitFor(/interrupted: stopping the running step/, 'stderr');
      s.release();
      const { code } = await cli.exited;
      expect(code, cli.stderr()).toBe(130);
      // The compensation was not cut; finally ran after it; the later check never started.
      expect(s.closed).not.toContain('/comp');
      expect(s.seen).toContain('/finally');
      expect(s.seen.indexOf('/finally')).toBeGreaterThan(s.seen.indexOf('/comp'));
      expect(s.seen).not.toContain('/later');
      // The background request was closed (after finally, when the runner stopped it).
      await s.until(() => s.closed.includes('/hold'));
      const ev = events(readFileSync(join(dir, 'report.ndjson'), 'utf8'));
      const comp = ev.find((e) => e.type === 'step' && e.phase === 'compensate');
      expect(comp).toMatchObject({ step: 'undo create', ok: true, exit: 0 });
      expect(ev.find((e) => e.type === 'step' && e.phase === 'finally')).toMatchObject({ ok: true });
      const checks = ev.filter((e) => e.type === 'check');
      expect(checks.map((c) => [c.name, c.ok, c.exit, c.skipped])).toEqual([
        ['saga', false, 1, undefined],
        ['later', true, 0, 'interrupted before it started'],
      ]);
      expect(ev.at(-1)).toMatchObject({ type: 'run', exit: 130 });
      expect(existsSync(join(dir, 'report.xml'))).toBe(true);
    }, 60_000);
  }

  it('a second Ctrl-C exits at once with 130: the compensation is cut, finally does not run', async () => {
    srv = new Steered();
    await srv.start();
    const s = srv;
    const dir = checkDir({ 'saga.check.yaml': saga(s.url) });
    const cli = startCli(['check', 'saga.check.yaml', '--report', 'json:report.ndjson'], { cwd: dir });
    await s.until(() => s.seen.includes('/comp'));
    cli.kill('SIGINT');
    await cli.waitFor(/interrupted: stopping the running step/, 'stderr');
    cli.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(130);
    expect(cli.stderr()).toContain('interrupted again');
    // The held compensation's request went with the process; nothing after it was sent.
    await s.until(() => s.closed.includes('/comp') && s.closed.includes('/hold'));
    expect(s.seen).not.toContain('/finally');
    expect(s.seen).not.toContain('/later');
  }, 60_000);

  it('Ctrl-C during a main step: the step stops, the armed compensation and finally run, exit 130', async () => {
    srv = new Steered();
    await srv.start();
    const s = srv;
    // The main step itself hangs (/comp is held), the compensation of the step before it is quick.
    const dir = checkDir({
      'main.check.yaml': `vars: {api: "${s.url}"}
checks:
  - name: stuck
    steps:
      - http: {method: post, url: "{{api}}/create"}
        compensate: {http: {method: delete, url: "{{api}}/undo"}}
      - http: {method: get, url: "{{api}}/comp"}
    finally:
      - http: {method: get, url: "{{api}}/finally"}
`,
    });
    const cli = startCli(['check', 'main.check.yaml', '--json'], { cwd: dir });
    await s.until(() => s.seen.includes('/comp'));
    cli.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(130);
    expect(s.closed).toContain('/comp');
    expect(s.seen.slice(-2)).toEqual(['/undo', '/finally']);
    const check = events(cli.stdout()).find((e) => e.type === 'check');
    expect(check).toMatchObject({ ok: false, exit: 130 });
  }, 60_000);

  it('a second Ctrl-C also ends an exec compensation still running (its process group)', async () => {
    srv = new Steered();
    await srv.start();
    const s = srv;
    const dir = checkDir({
      'exec.check.yaml': `vars: {api: "${s.url}"}
checks:
  - name: exec undo
    steps:
      - http: {method: post, url: "{{api}}/create"}
        compensate: {exec: {command: "echo $$ > undo.pid.tmp && mv undo.pid.tmp undo.pid && exec sleep 120", shell: true}}
      - http: {method: get, url: "{{api}}/fail"}
`,
    });
    const pidFile = join(dir, 'undo.pid');
    const appeared = new Promise<void>((resolve) => {
      const w = watch(dir, () => {
        if (existsSync(pidFile)) {
          w.close();
          resolve();
        }
      });
    });
    const cli = startCli(['check', 'exec.check.yaml'], { cwd: dir });
    await appeared;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    cli.kill('SIGINT');
    await cli.waitFor(/interrupted: stopping the running step/, 'stderr');
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    // The sleep got SIGTERM on the way out: wait until it is gone (kill 0 throws ESRCH).
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(alive, { timeout: 20_000, interval: 50 }).toBe(false);
  }, 60_000);
});
