import { Command } from 'commander';
import { packageVersion } from '../core/package-root.js';
import { registerDemo } from './commands/demo.js';
import { registerEvents } from './commands/events.js';
import { registerGrpc } from './commands/grpc.js';
import { registerHttp } from './commands/http.js';
import { registerNats } from './commands/nats.js';
import { registerServe } from './commands/serve.js';
import type { CommandContext } from './context.js';

/** Sets the exit code a command's action decided; main.ts applies it. */
export type SetExit = (code: number) => void;

/**
 * The command tree. Command files only declare arguments and options (cheap to load); each action
 * imports its transport lazily, so `comms-cli http ...` never loads gRPC or NATS code.
 */
export function buildProgram(ctx: CommandContext, setExit: SetExit): Command {
  const program = new Command('comms-cli')
    .description(
      'Test service-to-service communication: HTTP, gRPC, NATS and event logs, with retries, timeouts, a circuit breaker, timing and load.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli demo                                     # every transport against embedded servers
  $ comms-cli http get https://127.0.0.1:8080/health --expect-status 2xx --retries 3
  $ comms-cli grpc call localhost:50051 inventory.Inventory/GetItem -d '{"sku":"A1"}'
  $ comms-cli nats subscribe 'orders.>' --count 10 --json

Exit codes: 0 ok, 1 failed/expectation, 2 usage, 3 unreachable, 4 timeout, 5 breaker open, 130 interrupted.`,
    );
  registerHttp(program, ctx, setExit);
  registerGrpc(program, ctx, setExit);
  registerNats(program, ctx, setExit);
  registerEvents(program, ctx, setExit);
  registerServe(program, ctx, setExit);
  registerDemo(program, ctx, setExit);
  // Subcommands inherit exitOverride so usage errors reach main.ts (exit 2, not commander's 1).
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride();
      sub.showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}
