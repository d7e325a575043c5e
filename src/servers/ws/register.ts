import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { SERVE_WS_OPTIONS } from './flags.js';

/** `comms-cli serve ws`: declared under the `serve` command; the server loads only when it runs. */
export function registerServeWs(serve: Command, ctx: CommandContext): void {
  const cmd = serve
    .command('ws')
    .description('local WebSocket test server: /echo /broadcast /ticker?every=100ms, faults')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve ws --port 8081
  $ comms-cli serve ws --drop-after 3                 # every connection dropped after 3 messages (1006)
  $ comms-cli serve ws --close-code 1011 --drop-after 1
  $ comms-cli serve ws --refuse 401                   # every upgrade refused
  $ comms-cli ws 'ws://127.0.0.1:8081/ticker?every=100ms' --count 5`,
    )
    .action(async (_opts: unknown, self: Command) => {
      const { runServeWs } = await import('./commands/serve.js');
      ctx.setExit(await runServeWs(readOptions(SERVE_WS_OPTIONS, self.opts()), ctx));
    });
  addOptions(cmd, SERVE_WS_OPTIONS);
}
