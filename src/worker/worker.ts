import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CommandContext } from '../command/context.js';
import { ExitCode } from '../errors/exit-codes.js';
import { runAsShare } from '../load/share.js';
import type { LoadSummary } from '../load/summary.js';
import { DEFAULT_OUTPUT, Output } from '../output/output.js';
import { closeNats, connectNats, natsConnectOptionsFrom } from '../transports/nats/connection.js';
import type { WorkerSettings } from './flags.js';
import {
  type DiscoverReply,
  type Done,
  decode,
  encode,
  HEARTBEAT_MS,
  type PlanReply,
  type PlanRequest,
  type Progress,
  subjects,
} from './protocol.js';
import { refusal } from './security.js';

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
      const why = refusal(req.argv, settings.allow);
      if (why) {
        output.info(output.c.yellow(`run ${req.run}: refused: ${why}`));
        answer({ ok: false, reason: why });
        return;
      }
      busy = req.run;
      answer({ ok: true });
      output.info(`run ${req.run}: ${req.argv.join(' ')}`);
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
  return ExitCode.interrupted;
}
