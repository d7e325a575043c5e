import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { registerServeWs } from '../../servers/ws/register.js';
import { registerServeGrpc } from './serve-grpc.js';
import { registerServeHttp } from './serve-http.js';

/** `comms-cli serve <http|grpc>`: local fault-injecting test servers. */
export function registerServe(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  const serve = program
    .command('serve')
    .description('start a local fault-injecting test server (http or grpc)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve http --port 8080 --fail-rate 0.3
  $ comms-cli serve grpc --port 50051 --delay 50ms`,
    );
  registerServeHttp(serve, ctx, setExit);
  registerServeGrpc(serve, ctx, setExit);
  registerServeWs(serve, ctx);
}
