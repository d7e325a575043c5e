import type { CommandContext } from '../../command/context.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import type { StoredEvent } from '../event.js';
import { validateAggregate } from '../event.js';
import type { NatsStoreValues, ReadValues } from '../flags.js';
import { openStore } from '../open-store.js';
import { matchesFilter } from '../store.js';
import { filterFrom, formatEvent, outputOf } from './common.js';

/** `events read <aggregate>` (version order) or `events read --all` (global order). Events go to stdout. */
export async function runRead(
  aggregateArg: string | undefined,
  values: ReadValues & NatsStoreValues,
  ctx: CommandContext,
): Promise<number> {
  const out = outputOf(values, ctx);
  if (values.all && aggregateArg !== undefined)
    throw new UsageError('name an aggregate or pass --all, not both');
  if (!values.all && aggregateArg === undefined)
    throw new UsageError('name an aggregate, or pass --all for every event');
  const aggregate = aggregateArg === undefined ? undefined : validateAggregate(aggregateArg);
  const from = values.from;
  const filter = filterFrom(values);

  const store = await openStore(values, ctx.signal, 'read');
  let count = 0;
  try {
    const source: AsyncIterable<StoredEvent> =
      aggregate !== undefined
        ? store.readAggregate(aggregate, from ?? 1, ctx.signal)
        : store.readAll({ afterPosition: from ?? 0, filter, signal: ctx.signal });
    for await (const event of source) {
      if (aggregate !== undefined && !matchesFilter(event, filter)) continue;
      count += 1;
      if (out.options.json) await out.json(event);
      else await out.data(formatEvent(out, event));
    }
  } finally {
    await store.close();
  }
  if (ctx.signal.aborted) return ExitCode.interrupted;
  out.info(
    out.c.dim(
      `${count} event${count === 1 ? '' : 's'}${aggregate !== undefined ? ` in ${aggregate}` : ''} · ${store.location}`,
    ),
  );
  return ExitCode.ok;
}
