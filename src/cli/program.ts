import { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { packageVersion } from '../core/package-root.js';
import { provideCoordinator } from '../worker/provide.js';

type Register = (program: Command, ctx: CommandContext) => void;

/**
 * Every slice with the one top-level command it registers, in help order. Each slice's module is
 * imported when the slice is registered: a one-slice run (below) then loads and initialises one
 * command's option tables instead of fourteen (measured: ~10 ms of a one-shot `http get`).
 */
const SLICES: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ['http', async () => (await import('../transports/http/register.js')).register],
  ['grpc', async () => (await import('../transports/grpc/register.js')).register],
  ['nats', async () => (await import('../transports/nats/register.js')).register],
  ['ws', async () => (await import('../transports/ws/register.js')).register],
  ['sse', async () => (await import('../transports/sse/register.js')).register],
  ['amqp', async () => (await import('../transports/amqp/register.js')).register],
  ['mqtt', async () => (await import('../transports/mqtt/register.js')).register],
  ['events', async () => (await import('../events/register.js')).register],
  ['serve', async () => (await import('../servers/register.js')).register],
  ['check', async () => (await import('../check/register.js')).register],
  ['demo', async () => (await import('../demo/register.js')).register],
  ['worker', async () => (await import('../worker/register.js')).register],
  ['report', async () => (await import('../report/register.js')).register],
  ['completion', async () => (await import('../completion/register.js')).register],
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
export async function buildProgram(ctx: CommandContext, first?: string): Promise<Command> {
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
  const registers = await Promise.all((only ? [only] : SLICES).map(([, load]) => load()));
  for (const register of registers) register(program, ctx);
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
