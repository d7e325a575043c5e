import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from '../command/context.js';
import type { DemoPart } from './context.js';

/** The nats-server binary: NATS_SERVER_BIN, Debian's /usr/sbin/nats-server, or one on PATH. */
export function findNatsServer(): string | undefined {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => (dir ? join(dir, 'nats-server') : undefined)),
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

interface PrivateServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * A private nats-server for the demo: random loopback port (`port: -1`, learnt from the ports file),
 * JetStream in a temp dir. Never the machine's own server on 4222.
 */
async function startPrivateServer(bin: string): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'comms-demo-nats-'));
  const conf = join(dir, 'server.conf');
  writeFileSync(
    conf,
    [
      'host: 127.0.0.1',
      'port: -1',
      `ports_file_dir: "${dir}"`,
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const portsFile = join(dir, `nats-server_${child.pid}.ports`);
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) break;
    if (existsSync(portsFile) || readdirSync(dir).some((f) => f.endsWith('.ports'))) {
      try {
        const url = (JSON.parse(readFileSync(portsFile, 'utf8')) as { nats?: string[] }).nats?.[0];
        if (url) return { url: `nats://127.0.0.1:${new URL(url).port}`, stop: cleanup };
      } catch {
        // written but not complete yet
      }
    }
    await sleep(25);
  }
  await cleanup();
  throw new Error(`nats-server did not start: ${log.trim().split('\n').at(-1) ?? 'no output'}`);
}

/**
 * The NATS tour, through the same code paths as `comms-cli nats ...` (runPublish, runSubscribe,
 * runRequest), against a private nats-server and in-process responders.
 */
export const natsDemo: DemoPart = async (ctx) => {
  const out = ctx.out;
  const bin = findNatsServer();
  if (!bin) {
    out.err.write(
      `  ${out.c.yellow('skipped')}: no nats-server binary found (set NATS_SERVER_BIN, or install nats-server); the NATS part needs one to start a private server\n`,
    );
    return;
  }
  let server: PrivateServer;
  try {
    server = await startPrivateServer(bin);
  } catch (err) {
    out.err.write(`  ${out.c.yellow('skipped')}: ${(err as Error).message}\n`);
    return;
  }
  const [{ runPublish }, { runSubscribe }, { runRequest }, { connectNats }, { natsConnectOptionsFrom }] =
    await Promise.all([
      import('../transports/nats/publish.js'),
      import('../transports/nats/subscribe.js'),
      import('../transports/nats/request.js'),
      import('../transports/nats/connection.js'),
      import('../transports/nats/connection-options.js'),
    ]);
  const cmd: CommandContext = {
    signal: ctx.signal,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    setExit: () => {},
    run: async () => 2,
  };
  const base = {
    server: server.url,
    verbose: out.options.verbose,
    quiet: out.options.quiet,
    ...(out.options.color === false ? { color: false } : {}),
  };
  const say = (line: string) => out.info(`  ${out.c.dim(`$ comms-cli ${line}`)}`);

  // In-process responders: an echo, and one that drops the first request it sees.
  const nc = await connectNats(natsConnectOptionsFrom({ server: server.url }, { reconnect: 'never' }));
  let flakySeen = 0;
  nc.subscribe('demo.echo', {
    callback: (_err, m) => {
      m.respond(m.data, m.headers ? { headers: m.headers } : undefined);
    },
  });
  nc.subscribe('demo.flaky', {
    callback: (_err, m) => {
      flakySeen += 1;
      if (flakySeen > 1) m.respond(m.data);
    },
  });
  await nc.flush();
  try {
    out.info(out.c.dim(`private nats-server: ${server.url} (JetStream on)`));
    await ctx.step('Publish two messages; a subscriber prints them as they arrive', 0, async () => {
      say('nats subscribe "demo.orders.*" --count 2 --timeout 5s &');
      const sub = runSubscribe('demo.orders.*', { ...base, count: '2', timeout: '5s' }, cmd);
      await sleep(400); // let the subscription reach the server before publishing
      say(`nats publish 'demo.orders.{{seq}}' '{"order":{{seq}}}' --count 2 -H 'Trace-Id: t{{seq}}'`);
      const pub = await runPublish(
        'demo.orders.{{seq}}',
        '{"order":{{seq}}}',
        { ...base, count: '2', header: ['Trace-Id: t{{seq}}'] },
        cmd,
      );
      return Math.max(pub, await sub);
    });
    await ctx.step('Request/reply against an echo responder, with timing', 0, async () => {
      say("nats request demo.echo 'ping'");
      return runRequest('demo.echo', 'ping', { ...base, verbose: true }, cmd);
    });
    await ctx.step('A responder drops the first request: the retry gets the reply', 0, async () => {
      say("nats request demo.flaky 'hello' --timeout 300ms --retries 2 --backoff 50ms");
      return runRequest(
        'demo.flaky',
        'hello',
        { ...base, timeout: '300ms', retries: '2', backoff: '50ms' },
        cmd,
      );
    });
    await ctx.step('Nobody listens: no responders, exit 3', 3, async () => {
      say("nats request demo.nobody 'anyone?'");
      return runRequest('demo.nobody', 'anyone?', base, cmd);
    });
    await ctx.step('JetStream: the same --msg-id published twice is stored once', 0, async () => {
      say('nats publish demo.pay charge-42 --jetstream --stream DEMO --msg-id charge-42   # twice');
      const flags = { ...base, jetstream: true, stream: 'DEMO', msgId: 'charge-42' };
      const first = await runPublish('demo.pay', 'charge-42', flags, cmd);
      return Math.max(first, await runPublish('demo.pay', 'charge-42', flags, cmd));
    });
  } finally {
    await nc.close().catch(() => undefined);
    await server.stop();
  }
};
