import type { CommandContext } from '../../command/context.js';
import { resilienceFrom } from '../../command/shared-options.js';
import { CallPipeline } from '../../core/run-call.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { formatAttempt } from '../../output/human.js';
import { type Delivery, type DispatchSummary, dispatchEvents, redriveDeadLetters } from '../dispatch.js';
import { validateAggregate, validateName } from '../event.js';
import type { DispatchValues, NatsStoreValues } from '../flags.js';
import { createHandler, parseHandler } from '../handlers/handler.js';
import { isNatsStore, natsValuesOf, openStore, storeSpec } from '../open-store.js';
import { filterFrom, outputOf, terminalSafe } from './common.js';

/** What `events dispatch` receives: its typed option values (--to is required) and the NATS values. */
export type DispatchInput = DispatchValues & NatsStoreValues & { to: string };

/** `events dispatch`: parse everything, open store and handler, run, print deliveries and a summary. */
export async function runDispatch(values: DispatchInput, ctx: CommandContext): Promise<number> {
  const out = outputOf(values, ctx);
  const spec = parseHandler(values.to);
  const resilience = resilienceFrom(values);
  const group = values.checkpoint === undefined ? 'default' : validateName(values.checkpoint, '--checkpoint');
  if (values.aggregate !== undefined) validateAggregate(values.aggregate);
  const filter = filterFrom(values);
  const from = values.from;

  const store = await openStore(values, ctx.signal);
  // Two dispatchers with the same --checkpoint would both deliver everything: hold it for the run.
  let release: (() => Promise<void>) | undefined;
  try {
    if (values.checkpoint !== undefined) release = await store.holdCheckpoint(group);
  } catch (err) {
    await store.close();
    throw err;
  }
  // A nats: handler talks to -s, else NATS_URL, else the JetStream store's server.
  const where = storeSpec(values);
  const natsServer =
    values.server ?? (process.env.NATS_URL === undefined && isNatsStore(where) ? where : undefined);
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
      natsConnection: natsValuesOf(values),
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
      const what = `#${e.position} ${terminalSafe(e.aggregate)}@v${e.version} ${terminalSafe(e.type)}`;
      const why = terminalSafe(d.result.error?.message ?? '');
      if (d.outcome === 'handled')
        out.verbose(
          `${out.c.green('✓')} ${what} ${out.c.dim(`handled · ${d.result.attempts.length} attempt(s)`)}`,
        );
      else if (d.outcome === 'dead-lettered')
        out.info(`${out.c.red('✗')} ${what} ${out.c.red('dead-lettered')}: ${why}`);
      else out.info(`${out.c.red('■')} ${what} ${out.c.red('stopped')}: ${why}`);
    };
    const options = {
      store,
      handler,
      pipeline,
      group,
      checkpoint: values.checkpoint !== undefined,
      ...(from !== undefined ? { from } : {}),
      filter,
      follow: values.follow,
      stopOnFailure: values.stopOnFailure,
      deadLetterUnreachable: values.deadLetterUnreachable,
      signal: ctx.signal,
      onDelivery,
    };
    if (values.follow && !values.retryDeadLetters)
      out.info(out.c.dim(`dispatching to ${handler.target} (following; Ctrl-C to stop)`));
    const summary = values.retryDeadLetters
      ? await redriveDeadLetters(options)
      : await dispatchEvents(options);
    await report(out, summary, values.checkpoint);
    return summary.exit;
  } finally {
    await pipeline.close();
    await handler?.close();
    await release?.();
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
    `${colour(s.operation === 'redrive' ? 're-drive:' : 'dispatch:')} ${parts.join(', ')} in ${out.ms(s.ms)}${s.handled > 0 ? ` (${s.rate}/s)` : ''}${where}${stop}`,
  );
}
