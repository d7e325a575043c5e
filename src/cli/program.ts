import { Command } from 'commander';
import { register as registerCheck } from '../check/register.js';
import type { CommandContext } from '../command/context.js';
import { register as registerCompletion } from '../completion/register.js';
import { packageVersion } from '../core/package-root.js';
import { register as registerDemo } from '../demo/register.js';
import { register as registerEvents } from '../events/register.js';
import { register as registerReport } from '../report/register.js';
import { register as registerServe } from '../servers/register.js';
import { register as registerAmqp } from '../transports/amqp/register.js';
import { register as registerGrpc } from '../transports/grpc/register.js';
import { register as registerHttp } from '../transports/http/register.js';
import { register as registerMqtt } from '../transports/mqtt/register.js';
import { register as registerNats } from '../transports/nats/register.js';
import { register as registerSse } from '../transports/sse/register.js';
import { register as registerWs } from '../transports/ws/register.js';
import { register as registerWorker } from '../worker/register.js';

/**
 * The command tree: one register() call per slice, nothing else. Register files only declare
 * arguments and options (cheap to load); each action imports its runner lazily, so
 * `comms-cli http ...` never loads gRPC or NATS code.
 */
export function buildProgram(ctx: CommandContext): Command {
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

Exit codes: 0 ok, 1 failed/expectation, 2 usage, 3 unreachable, 4 timeout, 5 breaker open, 6 local failure, 130 interrupted.`,
    );
  registerHttp(program, ctx);
  registerGrpc(program, ctx);
  registerNats(program, ctx);
  registerWs(program, ctx);
  registerSse(program, ctx);
  registerAmqp(program, ctx);
  registerMqtt(program, ctx);
  registerEvents(program, ctx);
  registerServe(program, ctx);
  registerCheck(program, ctx);
  registerDemo(program, ctx);
  registerWorker(program, ctx);
  registerReport(program, ctx);
  registerCompletion(program, ctx);
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
