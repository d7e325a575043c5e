import type { CommandContext } from '../../command/context.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { validateName } from '../event.js';
import type { DeadLetterValues, NatsStoreValues } from '../flags.js';
import { openStore } from '../open-store.js';
import { outputOf, terminalSafe } from './common.js';

/** `events dead-letters`: one line (or NDJSON object) per parked event. */
export async function runDeadLetters(
  values: DeadLetterValues & NatsStoreValues,
  ctx: CommandContext,
): Promise<number> {
  const out = outputOf(values, ctx);
  const group = values.checkpoint === undefined ? undefined : validateName(values.checkpoint, '--checkpoint');
  const store = await openStore(values, ctx.signal, 'read');
  try {
    const letters = await store.listDeadLetters(group);
    for (const l of letters) {
      if (out.options.json) await out.json(l);
      else {
        const e = l.event;
        const t = terminalSafe;
        await out.data(
          `${out.cOut.dim(`#${e.position}`)} ${t(e.aggregate)}@v${e.version} ${t(e.type)} ${out.cOut.dim(`[${t(l.group)}] id ${t(e.id)} · ${l.runs} run(s) · ${t(l.handler)}`)} ${out.cOut.red(`${t(l.error.kind)}: ${t(l.error.message)}`)}\n`,
        );
      }
    }
    out.info(out.c.dim(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}`));
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}
