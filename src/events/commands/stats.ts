import type { CommandContext } from '../../command/context.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { openStore } from '../open-store.js';
import { type CommonFlags, outputOf } from './common.js';

/** `events stats`: aggregates, events, last position (stdout: it is the data asked for). */
export async function runStats(flags: CommonFlags, ctx: CommandContext): Promise<number> {
  const out = outputOf(flags);
  const store = await openStore(flags, ctx.signal);
  try {
    const stats = await store.stats();
    if (out.options.json) {
      await out.json({
        transport: 'events',
        target: store.location,
        operation: 'stats',
        ok: true,
        exit: 0,
        attempts: [],
        store: store.kind,
        ...stats,
      });
    } else {
      await out.data(
        `store          ${store.location} (${store.kind})\naggregates     ${stats.aggregates}\nevents         ${stats.events}\nlast position  ${stats.lastPosition}\n`,
      );
    }
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
