import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors/comms-error.js';
import type { Output } from '../output/output.js';
import type { ReportTarget } from './options.js';
import type { LoadSummary } from './summary.js';

/** Write the `--report` targets of a finished run (html:FILE: one self-contained page; prometheus:URL: a push). */
export async function writeReports(
  reports: readonly ReportTarget[],
  summary: LoadSummary,
  output: Output,
): Promise<void> {
  for (const r of reports) {
    if (r.kind === 'prometheus') {
      const { pushPrometheus } = await import('./prometheus.js');
      await pushPrometheus(r.target, summary, output);
      continue;
    }
    const { renderHtmlReport } = await import('./html.js');
    const page = await renderHtmlReport([{ name: 'run', summary }], summary);
    try {
      await writeFile(r.target, page);
    } catch (err) {
      throw new UsageError(`cannot write --report ${r.kind}:${r.target}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    output.info(output.c.dim(`report: ${r.target}`));
  }
}
