import type { Command } from 'commander';
import { stepArgument } from '../../command/argument.js';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { WS_OPTIONS } from './flags.js';
import { parseWsUrl } from './url.js';

/**
 * `comms-cli ws <url>`: declarations only. The option table is parsed into typed values here, at the
 * edge; the `ws` library and the runner are imported only when the command runs.
 */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('ws')
    .description('WebSocket client: connect, send, receive, expect messages and close codes, ping, load')
    .argument('<url>', 'ws:// or wss:// URL')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli ws ws://127.0.0.1:8080/echo -m hello                   # send, print the reply, close
  $ comms-cli ws ws://127.0.0.1:8080/ticker?every=100ms --count 5 --json
  $ comms-cli ws wss://api.local/feed -H 'Authorization: Bearer T' --expect-message '$.type=ready' --timeout 5s
  $ comms-cli ws ws://127.0.0.1:8080/echo -m 'n={{seq}}' --count 10 --interval 100ms
  $ comms-cli ws ws://127.0.0.1:8080/echo -m ping -n 10000 -c 50     # load: round trips over 50 connections`,
    )
    .action(async (url: string, _opts: unknown, self: Command) => {
      const { runWs, wsPlanFrom } = await import('./commands/session.js');
      const plan = wsPlanFrom(url, readOptions(WS_OPTIONS, self.opts()));
      ctx.setExit(await runWs(plan, ctx));
    });
  addOptions(cmd, WS_OPTIONS);
  // A URL written without templates in a check file is checked when the file is loaded.
  stepArgument(cmd, 'url', { parse: parseWsUrl });
}
