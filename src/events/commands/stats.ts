import type { CommandContext } from '../../command/context.js';
import { ExitCode } from '../../errors/exit-codes.js';
import type { NatsStoreValues, StatsValues } from '../flags.js';
import { openStore } from '../open-store.js';
import { outputOf } from './common.js';

/** `events stats`: aggregates, events, last position (stdout: it is the data asked for). */
export async function runStats(values: StatsValues & NatsStoreValues, ctx: CommandContext): Promise<number> {
  const out = outputOf(values, ctx);
  const store = await openStore(values, ctx.signal, 'read');
  try {
    const stats = await store.stats();
    const torn = stats.tornTail;
    if (torn && !out.options.quiet) {
      out.err.write(
        `${out.c.yellow('warning:')} '${torn.file}' ends in a torn line (${torn.bytes} byte${torn.bytes === 1 ? '' : 's'} at byte ${torn.offset}, not a complete event): a writer died mid-append or the file was damaged from outside; readers skip it and the next append removes it\n`,
      );
    }
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
        ...(torn ? { warnings: [`torn last line: ${torn.bytes} bytes at byte ${torn.offset}`] } : {}),
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
