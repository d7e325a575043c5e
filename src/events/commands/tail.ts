import type { CommandContext } from '../../command/context.js';
import { formatMs } from '../../core/duration.js';
import { TimeoutError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { validateAggregate } from '../event.js';
import type { NatsStoreValues, TailValues } from '../flags.js';
import { openStore } from '../open-store.js';
import { filterFrom, formatEvent, outputOf, tailRecord } from './common.js';

/** `events tail`: new events as they are appended (from the current end unless `--from`). */
export async function runTail(values: TailValues & NatsStoreValues, ctx: CommandContext): Promise<number> {
  const out = outputOf(values, ctx);
  if (values.aggregate !== undefined) validateAggregate(values.aggregate);
  const filter = filterFrom(values);
  const from = values.from;
  const limit = values.count;

  const store = await openStore(values, ctx.signal, 'read');
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let count = 0;
  // --timeout, as `nats subscribe --timeout`: the whole wait, not per event; what came is judged then.
  let timedOut = false;
  const timer =
    values.timeout !== undefined
      ? setTimeout(() => {
          timedOut = true;
          stop.abort();
        }, values.timeout)
      : undefined;
  try {
    const start = from ?? (await store.stats()).lastPosition;
    out.info(out.c.dim(`following ${store.location} after position ${start} (Ctrl-C to stop)`));
    // Open and positioned: every event appended from now on is after `start`, so it will be read.
    ctx.ready?.();
    for await (const event of store.readAll({
      afterPosition: start,
      filter,
      follow: true,
      signal: stop.signal,
    })) {
      count += 1;
      if (out.options.json) await out.json(tailRecord(event, count));
      else await out.data(formatEvent(out, event));
      if (limit !== undefined && count >= limit) break;
    }
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    stop.abort();
    await store.close();
  }
  out.info(out.c.dim(`${count} event${count === 1 ? '' : 's'}`));
  if (ctx.signal.aborted) return ExitCode.interrupted;
  const expected = limit ?? 1;
  if (timedOut && count < expected)
    throw new TimeoutError(
      `timed out after ${formatMs(values.timeout ?? 0)}: ${count} of ${expected} expected event${expected === 1 ? '' : 's'}`,
      { code: 'COMMS_ERR_EVENTS_TIMEOUT' },
    );
  return ExitCode.ok;
}
