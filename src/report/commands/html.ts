import { writeFile } from 'node:fs/promises';
import type { CommandContext } from '../../command/context.js';
import { outputFrom } from '../../command/shared-options.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { renderHtmlReport } from '../../load/html.js';
import { mergeSummaries } from '../../load/merge.js';
import { Output } from '../../output/output.js';
import type { ReportHtmlValues } from '../flags.js';
import { readSummaries } from './read-summaries.js';

/** `report html FILE... -o report.html`: the runs merged, drawn on one self-contained page. */
export async function runHtml(
  files: readonly string[],
  values: ReportHtmlValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  const parts = await readSummaries(files, ctx);
  // One summary that is itself a distributed run keeps its own per-worker lines.
  const merged = parts.length === 1 && parts[0] ? parts[0].summary : mergeSummaries(parts);
  const page = await renderHtmlReport(parts, merged);
  const target = values.output ?? 'report.html';
  try {
    await writeFile(target, page);
  } catch (err) {
    throw new UsageError(`cannot write '${target}': ${(err as Error).message}`, { cause: err });
  }
  output.info(`report: ${target} (${parts.length} run(s), ${merged.requests} calls)`);
  return ExitCode.ok;
}
