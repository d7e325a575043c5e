import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one nats-server launcher (the demo uses it, and so does the test kit), shaped after nats.js's
 * own test kit (`nst`): write a config with `port: -1` and `ports_file_dir`, start the binary, read
 * `nats-server_<pid>.ports` to learn the ports it picked, keep JetStream's store in the server's own
 * temp dir, and stop it by PID. It never touches the machine's own server on 4222.
 */

/** Where Debian's package puts the binary. */
const DEBIAN_BIN = '/usr/sbin/nats-server';

/** The nats-server binary: NATS_SERVER_BIN, Debian's /usr/sbin/nats-server, or one on PATH. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.NATS_SERVER_BIN,
    DEBIAN_BIN,
    ...(env.PATH ?? '').split(delimiter).map((dir) => (dir ? join(dir, 'nats-server') : undefined)),
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not there
    }
  }
  return undefined;
}

export interface NatsServerOptions {
  /** The binary; default findNatsServer(). */
  bin?: string;
  /** JetStream on (default), its store under the server's dir. */
  jetstream?: boolean;
  /** Extra config text appended to the generated config (authorization, tls blocks...). */
  config?: string;
  /** Fixed port; default: random (-1), read back from the ports file. restart() keeps it either way. */
  port?: number;
  /** Where config, ports file and store go; default a new temp dir, removed by stop(). */
  dir?: string;
  /** Also open the HTTP monitoring port (random), for waitForSubscription(). */
  monitor?: boolean;
  /** How long to wait for the ports file. */
  startTimeoutMs?: number;
}

export interface RunningNatsServer {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The running process (replaced by restart()). */
  process: ChildProcess;
  /** http://127.0.0.1:PORT of the monitoring endpoint, with `monitor: true`. */
  monitorUrl: string | undefined;
  /** Stop (SIGTERM to the PID, SIGKILL after 3 s) and remove the temp dir unless keepDir. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Stop and start again on the same port and store dir (for reconnect tests). */
  restart(): Promise<void>;
  /**
   * Resolve once a client subscription on exactly `subject` is registered with the server (needs
   * `monitor: true`): a publisher started after this cannot outrun a subscriber started before it.
   */
  waitForSubscription(subject: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

/** Start a private nats-server on loopback. Throws when the binary is missing or it does not come up. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const bin = opts.bin ?? findNatsServer();
  if (!bin) throw new Error('no nats-server binary found (set NATS_SERVER_BIN, or install nats-server)');
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'comms-nats-'));
  const conf = join(dir, 'server.conf');
  let port = opts.port ?? -1;
  let monitorPort = -1;
  const write = () =>
    writeFileSync(
      conf,
      [
        'host: 127.0.0.1',
        `port: ${port}`,
        ...(opts.monitor ? [`http: 127.0.0.1:${monitorPort}`] : []),
        `ports_file_dir: "${dir}"`,
        opts.jetstream === false ? '' : `jetstream { store_dir: "${join(dir, 'js')}" }`,
        opts.config ?? '',
      ].join('\n'),
    );
  write();
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let launched: Launched;
  try {
    launched = await launch(bin, conf, dir, startTimeoutMs);
  } catch (err) {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  port = launched.port;
  if (launched.monitorPort !== undefined) monitorPort = launched.monitorPort;
  write(); // pin the ports so restart() comes back on the same ones

  const server: RunningNatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    process: launched.child,
    monitorUrl: launched.monitorPort !== undefined ? `http://127.0.0.1:${launched.monitorPort}` : undefined,
    async stop({ keepDir = false } = {}) {
      await stopProcess(server.process);
      if (!keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stopProcess(server.process);
      server.process = (await launch(bin, conf, dir, startTimeoutMs)).child;
    },
    async waitForSubscription(subject, { timeoutMs = 10_000, signal } = {}) {
      const monitor = server.monitorUrl;
      if (!monitor) throw new Error('waitForSubscription needs a server started with monitor: true');
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !signal?.aborted) {
        const res = await fetch(`${monitor}/subsz?subs=1&limit=100000`, signal ? { signal } : {}).catch(
          () => undefined,
        );
        if (res?.ok) {
          const body = (await res.json()) as { subscriptions_list?: Array<{ subject?: string }> };
          if (body.subscriptions_list?.some((s) => s.subject === subject)) return;
        }
        await sleep(20);
      }
      if (!signal?.aborted) throw new Error(`no subscription on '${subject}' within ${timeoutMs} ms`);
    },
  };
  return server;
}

interface Launched {
  child: ChildProcess;
  port: number;
  monitorPort: number | undefined;
}

async function launch(bin: string, conf: string, dir: string, timeoutMs: number): Promise<Launched> {
  for (const f of readdirSync(dir)) if (f.endsWith('.ports')) rmSync(join(dir, f), { force: true });
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failed: Error | undefined;
  void spawnError.then((err) => {
    failed = err;
  });
  const lastLine = () => log.trim().split('\n').at(-1) ?? 'no output';
  const portsFile = join(dir, `nats-server_${child.pid}.ports`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (failed) throw new Error(`nats-server did not start: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${lastLine()}`);
    let ports: { nats?: string[]; monitoring?: string[] } | undefined;
    try {
      ports = JSON.parse(readFileSync(portsFile, 'utf8')) as typeof ports;
    } catch {
      // not written yet, or not complete yet
    }
    const url = ports?.nats?.[0];
    if (url) {
      const monitor = ports?.monitoring?.[0];
      return {
        child,
        port: Number(new URL(url).port),
        monitorPort: monitor ? Number(new URL(monitor).port) : undefined,
      };
    }
    await sleep(25);
  }
  await stopProcess(child);
  throw new Error(`nats-server did not start within ${timeoutMs} ms: ${lastLine()}`);
}

/** Stop the server by its PID: SIGTERM (it shuts down cleanly), SIGKILL when it has not gone in 3 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
