import type { CommandContext } from '../../command/context.js';
import { ExitCode } from '../../errors/exit-codes.js';
import type { NatsStoreValues, StatsValues } from '../flags.js';
import { openStore } from '../open-store.js';
import { outputOf } from './common.js';

/** `events stats`: aggregates, events, last position (stdout: it is the data asked for). */
export async function runStats(values: StatsValues & NatsStoreValues, ctx: CommandContext): Promise<number> {
  const out = outputOf(values, ctx);
  const store = await openStore(values, ctx.signal);
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
