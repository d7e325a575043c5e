import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startNatsServer as launch } from '../../src/servers/nats/launcher.js';

/**
 * The tests' private nats-server: a thin wrapper over src/servers/nats/launcher.ts (the launcher the
 * demo uses too), keeping the API the tests were written against.
 */

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
 * Start a private nats-server on a random loopback port (`port: -1` and `ports_file_dir`, as nats.js's
 * own test kit does). JetStream stores in a temp dir. Never touches the machine's own server on 4222.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  return launch({ ...opts, bin: NATS_SERVER_BIN });
}
