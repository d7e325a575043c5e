import type { CommandContext } from '../../command/context.js';
import { outputFrom } from '../../command/shared-options.js';
import type { ExitCode } from '../../errors/exit-codes.js';
import { mergeSummaries } from '../../load/merge.js';
import { emitSummary } from '../../load/summary.js';
import { Output } from '../../output/output.js';
import type { ReportMergeValues } from '../flags.js';
import { readSummaries } from './read-summaries.js';

/**
 * `report merge`: one exact summary of separate runs, printed as a load run prints its own (human on
 * stderr, --json on stdout), judged by the gates the runs had. Exit code as a load run's.
 */
export async function runMerge(
  files: readonly string[],
  values: ReportMergeValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  const parts = await readSummaries(files, ctx);
  const merged = mergeSummaries(parts);
  output.info(output.c.dim(`merged ${parts.length} run(s): ${parts.map((p) => p.name).join(', ')}`));
  await emitSummary(output, merged);
  return merged.exit;
}
