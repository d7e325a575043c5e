import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../command/context.js';
import { ExitCode } from '../errors/exit-codes.js';
import { runAsShare } from '../load/share.js';
import type { LoadSummary } from '../load/summary.js';
import { DEFAULT_OUTPUT, Output } from '../output/output.js';
import { isSecretHeader, isSecretValue, REDACTED, redactUrl } from '../output/redact.js';
import { closeNats, connectNats, natsConnectOptionsFrom } from '../transports/nats/connection.js';
import type { WorkerSettings } from './flags.js';
import {
  type DiscoverReply,
  type Done,
  decode,
  encode,
  HEARTBEAT_MS,
  MAX_PROTOSET_BYTES,
  type PlanReply,
  type PlanRequest,
  type Progress,
  subjects,
} from './protocol.js';
import { commandOf, refusal } from './security.js';

/**
 * What a call command would otherwise take from the worker's environment: the broker, its
 * credentials (the pool's own NATS_CREDS among them) and the nats CLI's selected context. A plan
 * names its broker in flags (the coordinator turns its own environment into flags).
 */
const SCRUBBED_ENV = [
  'NATS_URL',
  'NATS_USER',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'NATS_CREDS',
  'NATS_NKEY',
  'NATS_CONTEXT',
  'AMQP_URL',
  'MQTT_URL',
  'MQTT_PASSWORD',
  'COMMS_WORKERS_URL',
];
/** Flags whose value is a secret, for the worker's log line. */
const SECRET_FLAGS = new Set(['--password', '--token', '-u', '--user']);

const HEADER_FLAGS = new Set(['-H', '--header']);

/** One value for the log: URL credentials (also in comma lists) and secret headers redacted. */
function redactValue(value: string, flag: string | undefined): string {
  if (flag !== undefined && SECRET_FLAGS.has(flag)) return REDACTED;
  if (flag !== undefined && HEADER_FLAGS.has(flag)) {
    const colon = value.indexOf(':');
    const name = colon > 0 ? value.slice(0, colon).trim() : value;
    if (isSecretHeader(name) || isSecretValue(value.slice(colon + 1).trim())) return `${name}: ${REDACTED}`;
  }
  return value
    .split(',')
    .map((part) => redactUrl(part))
    .join(',');
}

/** The plan's argv for the log (the worker's stderr): secrets and URL credentials redacted. */
export function loggable(argv: readonly string[]): string {
  return argv
    .map((a, i) => {
      const eq = a.startsWith('--') ? a.indexOf('=') : -1;
      if (eq > 0) return `${a.slice(0, eq)}=${redactValue(a.slice(eq + 1), a.slice(0, eq))}`;
      const prev = argv[i - 1];
      return redactValue(a, prev?.startsWith('-') ? prev : undefined);
    })
    .join(' ');
}

/**
 * `comms-cli worker`: answer discovery, accept one plan at a time (after the security rules), run it
 * and report, until Ctrl-C.
 *
 * A plan is the argv of a call command; it runs in this process with `ctx.run(argv)` inside a load
 * share (src/load/share.ts). Why ctx.run rather than calling runLoad: the plan then goes through the
 * very code a local run goes through (the command's option table and parsers, its transport, its
 * CallPipeline, runLoad), so a worker supports every call command, now and future ones, without
 * importing any transport's runner; the share only adds the start instant, the stop signal and the
 * per-second reports.
 */
export async function runWorker(settings: WorkerSettings, ctx: CommandContext): Promise<number> {
  const output = new Output({ ...DEFAULT_OUTPUT, quiet: settings.quiet }, ctx.stdout, ctx.stderr);
  const id = randomBytes(6).toString('hex');
  const name = settings.name ?? `${hostname()}-${process.pid}`;
  const subj = subjects(settings.prefix);
  const nc = await connectNats(
    natsConnectOptionsFrom({ ...settings.nats, name }, { reconnect: 'forever' }),
    output,
  );
  // The pool connection is made: from here on the environment's broker settings are not the plans'.
  for (const k of SCRUBBED_ENV) delete process.env[k];
  // A private folder: the nats CLI's context lookup finds nothing in it, and shipped schemas land here.
  const home = mkdtempSync(join(tmpdir(), 'comms-worker-'));
  process.env.XDG_CONFIG_HOME = join(home, 'config');
  let busy: string | undefined;
  let running: Promise<void> | undefined;

  const discover = nc.subscribe(subj.discover, {
    callback: (_err, msg) => {
      const reply: DiscoverReply = { id, name, tags: settings.tags, busy: busy !== undefined };
      msg.respond(encode(reply));
    },
  });
  const plans = nc.subscribe(subj.plan(id), {
    callback: (_err, msg) => {
      let req: PlanRequest;
      try {
        req = decode<PlanRequest>(msg.data);
      } catch {
        msg.respond(encode({ ok: false, reason: 'malformed plan' } satisfies PlanReply));
        return;
      }
      const answer = (r: PlanReply) => {
        msg.respond(encode(r));
      };
      if (busy !== undefined) {
        answer({ ok: false, reason: `busy with run ${busy}` });
        return;
      }
      if (
        !Array.isArray(req.argv) ||
        !req.argv.every((a) => typeof a === 'string') ||
        !/^[\w-]+$/.test(req.run)
      ) {
        answer({ ok: false, reason: 'malformed plan' });
        return;
      }
      const why =
        refusal(req.argv, settings.allow) ??
        (req.protoset === undefined
          ? undefined
          : commandOf(req.argv)[0] !== 'grpc' || typeof req.protoset !== 'string'
            ? 'a schema with a plan that is not grpc call'
            : Buffer.byteLength(req.protoset, 'base64') > MAX_PROTOSET_BYTES
              ? `schema larger than ${MAX_PROTOSET_BYTES} bytes`
              : undefined);
      if (why) {
        output.info(output.c.yellow(`run ${req.run}: refused: ${why}`));
        answer({ ok: false, reason: why });
        return;
      }
      if (req.protoset !== undefined) {
        const file = join(home, `${req.run}.protoset`);
        writeFileSync(file, Buffer.from(req.protoset, 'base64'), { mode: 0o600 });
        const dash = req.argv.indexOf('--');
        req.argv.splice(dash < 0 ? req.argv.length : dash, 0, '--protoset', file);
      }
      busy = req.run;
      answer({ ok: true });
      output.info(`run ${req.run}: ${loggable(req.argv)}`);
      running = execute(req).finally(() => {
        busy = undefined;
        running = undefined;
      });
    },
  });

  const execute = async (req: PlanRequest): Promise<void> => {
    const stop = new AbortController();
    const stopSub = nc.subscribe(subj.stop(req.run), { callback: () => stop.abort() });
    let totals = { requests: 0, errors: 0 };
    const progress = (p: Omit<Progress, 'id' | 'name'>) => {
      if (!nc.isClosed()) nc.publish(subj.progress(req.run), encode({ id, name, ...p } satisfies Progress));
    };
    // Heartbeats from acceptance on (the command may still be loading its transport): silence means lost.
    const heartbeat = setInterval(() => progress({ running: totals }), HEARTBEAT_MS);
    let summary: LoadSummary | undefined;
    let exit: number;
    try {
      exit = await runAsShare(
        {
          startAt: req.startAt,
          stop: stop.signal,
          onInterval(point, run, replaces) {
            totals = { requests: run.requests, errors: run.errors };
            progress({ point, ...(replaces ? { replaces } : {}), running: totals });
          },
          onSummary(s) {
            summary = s;
          },
        },
        () => ctx.run(req.argv),
      );
    } catch (err) {
      exit = ExitCode.failed;
      output.info(output.c.red(`run ${req.run}: ${(err as Error).message}`));
    } finally {
      clearInterval(heartbeat);
      stopSub.unsubscribe();
      if (req.protoset !== undefined) rmSync(join(home, `${req.run}.protoset`), { force: true });
    }
    const done: Done = summary
      ? { id, name, exit, summary: { ...summary, series: [] } }
      : {
          id,
          name,
          exit,
          error: `the plan failed before load started (exit ${exit}); see worker ${name}'s log`,
        };
    if (!nc.isClosed()) {
      nc.publish(subj.done(req.run), encode(done));
      await nc.flush().catch(() => undefined);
    }
    output.info(
      summary
        ? `run ${req.run}: done, ${summary.requests} calls, ${summary.errors} errors`
        : `run ${req.run}: failed (exit ${exit})`,
    );
  };

  await nc.flush();
  output.info(
    `worker ${name} in pool '${settings.prefix}' · tags ${
      Object.entries(settings.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-'
    } · targets ${settings.allow.text.join(', ')} · waiting for plans (Ctrl-C to stop)`,
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    void nc.closed().then(() => resolve());
  });
  discover.unsubscribe();
  plans.unsubscribe();
  // A run in progress was interrupted by the same Ctrl-C: let it report before leaving.
  if (running) await running;
  await closeNats(nc);
  rmSync(home, { recursive: true, force: true });
  return ExitCode.interrupted;
}
