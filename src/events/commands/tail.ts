import { parseCount } from '../../cli/options.js';
import type { CommandContext } from '../../command/context.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { validateAggregate } from '../event.js';
import { openStore } from '../open-store.js';
import { type CommonFlags, filterFrom, formatEvent, outputOf, parsePosition } from './common.js';

export interface TailFlags extends CommonFlags {
  aggregate?: string;
  type?: string[];
  since?: string;
  from?: string;
  count?: string;
}

/** `events tail`: new events as they are appended (from the current end unless `--from`). */
export async function runTail(flags: TailFlags, ctx: CommandContext): Promise<number> {
  const out = outputOf(flags);
  if (flags.aggregate !== undefined) validateAggregate(flags.aggregate);
  const filter = filterFrom(flags);
  const from = parsePosition(flags.from, '--from');
  const limit = parseCount(flags.count, '--count', { min: 1 });

  const store = await openStore(flags, ctx.signal);
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let count = 0;
  try {
    const start = from ?? (await store.stats()).lastPosition;
    out.info(out.c.dim(`following ${store.location} after position ${start} (Ctrl-C to stop)`));
    for await (const event of store.readAll({
      afterPosition: start,
      filter,
      follow: true,
      signal: stop.signal,
    })) {
      count += 1;
      if (out.options.json) await out.json(event);
      else await out.data(formatEvent(out, event));
      if (limit !== undefined && count >= limit) break;
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    stop.abort();
    await store.close();
  }
  out.info(out.c.dim(`${count} event${count === 1 ? '' : 's'}`));
  return ctx.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
}
