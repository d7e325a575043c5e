import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addOptions, readOptions } from '../command/option.js';
import { REPORT_HTML_OPTIONS, REPORT_MERGE_OPTIONS } from './flags.js';

/** `comms-cli report merge|html FILE...`: summaries of load runs (--json output) merged or drawn. */
export function register(program: Command, ctx: CommandContext): void {
  const report = program
    .command('report')
    .description('merge load-run summaries exactly (HDR histograms added) or draw them as an HTML page');
  const merge = report
    .command('merge')
    .description('merge the --json summaries of separate load runs into one exact summary')
    .argument('<files...>', 'files holding --json output of load runs (- for stdin)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli http get http://10.0.0.5:8080/ -n 10000 --json > a.json   # on host A
  $ comms-cli http get http://10.0.0.5:8080/ -n 10000 --json > b.json   # on host B
  $ comms-cli report merge a.json b.json                                 # exact p99 of both`,
    )
    .action(async (files: string[], _opts: unknown, self: Command) => {
      const { runMerge } = await import('./commands/merge.js');
      ctx.setExit(await runMerge(files, readOptions(REPORT_MERGE_OPTIONS, self.opts()), ctx));
    });
  addOptions(merge, REPORT_MERGE_OPTIONS);
  const html = report
    .command('html')
    .description('one self-contained HTML page (no network) drawing load-run summaries')
    .argument('<files...>', 'files holding --json output of load runs (- for stdin)')
    .action(async (files: string[], _opts: unknown, self: Command) => {
      const { runHtml } = await import('./commands/html.js');
      ctx.setExit(await runHtml(files, readOptions(REPORT_HTML_OPTIONS, self.opts()), ctx));
    });
  addOptions(html, REPORT_HTML_OPTIONS);
}
