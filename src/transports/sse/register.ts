import type { Command } from 'commander';
import { stepArgument } from '../../command/argument.js';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { SSE_OPTIONS } from './flags.js';
import { parseSseUrl } from './url.js';

/**
 * `comms-cli sse <url>`: declarations only; the parser (eventsource-parser) and the runner load only
 * when the command runs.
 */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('sse')
    .description('Server-Sent Events client: print events, filter, expect, reconnect with Last-Event-ID')
    .argument('<url>', 'http:// or https:// URL of a text/event-stream')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli sse 'http://127.0.0.1:8080/sse?count=5&every=100ms'
  $ comms-cli sse https://api.local/events -H 'Authorization: Bearer T' --event order --count 10 --json
  $ comms-cli sse 'http://127.0.0.1:8080/sse?count=10&drop=3&retry=100' --reconnect --count 10
  $ comms-cli sse http://127.0.0.1:8080/sse --expect-event '$.n=3' --timeout 5s`,
    )
    .action(async (url: string, _opts: unknown, self: Command) => {
      const { runSse, ssePlanFrom } = await import('./commands/stream.js');
      const plan = ssePlanFrom(url, readOptions(SSE_OPTIONS, self.opts()));
      ctx.setExit(await runSse(plan, ctx));
    });
  addOptions(cmd, SSE_OPTIONS);
  // A URL written without templates in a check file is checked when the file is loaded.
  stepArgument(cmd, 'url', { parse: parseSseUrl });
}
