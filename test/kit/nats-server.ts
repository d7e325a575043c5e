import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where Debian's package puts the binary; override with NATS_SERVER_BIN. */
export const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ??
  (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stop (SIGTERM, then SIGKILL) and remove the temp dir unless keepDir. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Stop and start again on the same port and store dir (for reconnect tests). */
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  jetstream?: boolean;
  /** Extra config text appended to the generated config (authorization, tls blocks...). */
  config?: string;
  /** Fixed port (restart keeps it); default: random (-1), read back from the ports file. */
  port?: number;
  dir?: string;
}

/**
 * Start a private nats-server on a random loopback port, as nats.js's own test kit does: a config with
 * `port: -1` and `ports_file_dir`, then read `nats-server_<pid>.ports` to learn the port. JetStream
 * stores in a temp dir. Never touches the machine's own server on 4222.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'comms-nats-'));
  let port = opts.port ?? -1;
  const conf = join(dir, 'server.conf');
  const write = () =>
    writeFileSync(
      conf,
      [
        'host: 127.0.0.1',
        `port: ${port}`,
        `ports_file_dir: "${dir}"`,
        opts.jetstream === false ? '' : `jetstream { store_dir: "${join(dir, 'js')}" }`,
        opts.config ?? '',
      ].join('\n'),
    );
  write();

  let proc = await launch(conf, dir);
  port = proc.port;
  write(); // pin the port so restart() comes back on the same one
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    process: proc.child,
    async stop({ keepDir = false } = {}) {
      await terminate(server.process);
      if (!keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await terminate(server.process);
      proc = await launch(conf, dir);
      server.process = proc.child;
    },
  };
  return server;
}

async function launch(conf: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  for (const f of readdirSync(dir)) if (f.endsWith('.ports')) rmSync(join(dir, f), { force: true });
  const child = spawn(NATS_SERVER_BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const portsFile = join(dir, `nats-server_${child.pid}.ports`);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log}`);
    if (existsSync(portsFile)) {
      try {
        const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as { nats?: string[] };
        const url = ports.nats?.[0];
        if (url) return { child, port: Number(new URL(url).port) };
      } catch {
        // written but not complete yet
      }
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not start: ${log}`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await done;
  clearTimeout(timer);
}
