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
import { provideCoordinator, register as registerWorker } from '../worker/register.js';

type Register = (program: Command, ctx: CommandContext) => void;

/** Every slice with the one top-level command it registers, in help order. */
const SLICES: ReadonlyArray<readonly [string, Register]> = [
  ['http', registerHttp],
  ['grpc', registerGrpc],
  ['nats', registerNats],
  ['ws', registerWs],
  ['sse', registerSse],
  ['amqp', registerAmqp],
  ['mqtt', registerMqtt],
  ['events', registerEvents],
  ['serve', registerServe],
  ['check', registerCheck],
  ['demo', registerDemo],
  ['worker', registerWorker],
  ['report', registerReport],
  ['completion', registerCompletion],
];

/**
 * Commands that never look at the rest of the tree: when the command line starts with one of them,
 * only that slice is registered. Declaring every command's options costs more than anything else
 * before a one-shot request (commander's Option objects, ~1000 of them; measured in bench/RESULTS.md).
 * `check` (its step catalogue) and `completion` walk the whole tree; help and unknown words need it.
 */
const ONE_SLICE: ReadonlySet<string> = new Set([
  'http',
  'grpc',
  'nats',
  'ws',
  'sse',
  'amqp',
  'mqtt',
  'events',
  'serve',
  'demo',
  'worker',
  'report',
]);

/**
 * The command tree: one register() call per slice, nothing else. Register files only declare
 * arguments and options (cheap to load); each action imports its runner lazily, so
 * `comms-cli http ...` never loads gRPC or NATS code. `first` is the command line's first word.
 */
export function buildProgram(ctx: CommandContext, first?: string): Command {
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
  const only =
    first !== undefined ? SLICES.find(([name]) => name === first && ONE_SLICE.has(name)) : undefined;
  for (const [, register] of only ? [only] : SLICES) register(program, ctx);
  provideCoordinator(program);
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
