import { type ResilienceFlags, resilienceFrom } from '../../cli/options.js';
import type { CommandContext } from '../../command/context.js';
import { CallPipeline } from '../../core/run-call.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { formatAttempt } from '../../output/human.js';
import { type Delivery, type DispatchSummary, dispatchEvents, redriveDeadLetters } from '../dispatch.js';
import { validateAggregate, validateName } from '../event.js';
import { createHandler, parseHandler } from '../handlers/handler.js';
import { isNatsStore, natsFlagsOf, openStore, storeSpec } from '../open-store.js';
import { type CommonFlags, filterFrom, outputOf, parsePosition } from './common.js';

export interface DispatchFlags extends CommonFlags, ResilienceFlags {
  to: string;
  checkpoint?: string;
  from?: string;
  aggregate?: string;
  type?: string[];
  follow?: boolean;
  stopOnFailure?: boolean;
  deadLetterUnreachable?: boolean;
  retryDeadLetters?: boolean;
  server?: string;
}

/** `events dispatch`: parse everything, open store and handler, run, print deliveries and a summary. */
export async function runDispatch(flags: DispatchFlags, ctx: CommandContext): Promise<number> {
  const out = outputOf(flags);
  const spec = parseHandler(flags.to);
  const resilience = resilienceFrom(flags);
  const group = flags.checkpoint === undefined ? 'default' : validateName(flags.checkpoint, '--checkpoint');
  if (flags.aggregate !== undefined) validateAggregate(flags.aggregate);
  const filter = filterFrom(flags);
  const from = parsePosition(flags.from, '--from');

  const store = await openStore(flags, ctx.signal);
  // A nats: handler talks to -s, else NATS_URL, else the JetStream store's server.
  const where = storeSpec(flags);
  const natsServer =
    flags.server ?? (process.env.NATS_URL === undefined && isNatsStore(where) ? where : undefined);
  let handler: Awaited<ReturnType<typeof createHandler>> | undefined;
  const pipeline = new CallPipeline(resilience, ctx.signal, {
    onAttempt(record) {
      const line = formatAttempt(out, record, resilience.retries + 1);
      if (!record.ok) out.info(`  ${line}`);
      else out.verbose(`  ${line}`);
    },
    onBreakerChange(key, state) {
      out.info(out.c.yellow(`breaker ${key}: ${state}`));
    },
  });
  try {
    handler = await createHandler(spec, {
      timeoutMs: resilience.timeoutMs,
      ...(natsServer !== undefined ? { natsServer } : {}),
      natsConnection: natsFlagsOf(flags),
    });
    const onDelivery = async (d: Delivery) => {
      if (out.options.json) {
        await out.json({
          ...d.result,
          outcome: d.outcome,
          event: {
            id: d.event.id,
            aggregate: d.event.aggregate,
            version: d.event.version,
            type: d.event.type,
            position: d.event.position,
          },
        });
        return;
      }
      const e = d.event;
      const what = `#${e.position} ${e.aggregate}@v${e.version} ${e.type}`;
      if (d.outcome === 'handled')
        out.verbose(
          `${out.c.green('✓')} ${what} ${out.c.dim(`handled · ${d.result.attempts.length} attempt(s)`)}`,
        );
      else if (d.outcome === 'dead-lettered')
        out.info(`${out.c.red('✗')} ${what} ${out.c.red('dead-lettered')}: ${d.result.error?.message ?? ''}`);
      else out.info(`${out.c.red('■')} ${what} ${out.c.red('stopped')}: ${d.result.error?.message ?? ''}`);
    };
    const options = {
      store,
      handler,
      pipeline,
      group,
      checkpoint: flags.checkpoint !== undefined,
      ...(from !== undefined ? { from } : {}),
      filter,
      follow: flags.follow === true,
      stopOnFailure: flags.stopOnFailure === true,
      deadLetterUnreachable: flags.deadLetterUnreachable === true,
      signal: ctx.signal,
      onDelivery,
    };
    if (flags.follow && !flags.retryDeadLetters)
      out.info(out.c.dim(`dispatching to ${handler.target} (following; Ctrl-C to stop)`));
    const summary = flags.retryDeadLetters
      ? await redriveDeadLetters(options)
      : await dispatchEvents(options);
    await report(out, summary, flags.checkpoint);
    return summary.exit;
  } finally {
    pipeline.close();
    await handler?.close();
    await store.close();
  }
}

async function report(
  out: ReturnType<typeof outputOf>,
  s: DispatchSummary,
  checkpoint: string | undefined,
): Promise<void> {
  if (out.options.json) {
    await out.json({ ...s, ...(checkpoint ? { checkpoint } : {}) });
    return;
  }
  const parts = [
    `${s.handled} handled`,
    `${s.retried} retried`,
    `${s.deadLettered} dead-lettered`,
    ...(s.remaining !== undefined ? [`${s.remaining} left`] : []),
  ];
  const colour = s.exit === ExitCode.ok ? out.c.green : out.c.red;
  const where =
    s.operation === 'dispatch'
      ? ` · position ${s.position}${checkpoint ? ` (checkpoint ${checkpoint})` : ''}`
      : '';
  const stop = s.stopped ? out.c.red(` · stopped: ${s.stopped}`) : '';
  if (s.stopped === 'unreachable')
    out.info(
      out.c.dim(
        'the handler could not be reached: nothing was parked and the position stays before that event; run again once it is up (or pass --dead-letter-unreachable)',
      ),
    );
  out.info(
    `${colour(s.operation === 'redrive' ? 're-drive:' : 'dispatch:')} ${parts.join(', ')} in ${out.ms(s.ms)} (${s.rate}/s)${where}${stop}`,
  );
}
