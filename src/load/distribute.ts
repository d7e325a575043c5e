import type { ExitCode } from '../errors/exit-codes.js';
import type { Output } from '../output/output.js';
import type { LoadPlan } from './plan.js';

/** What a coordinator needs to spread a load run over workers. */
export interface DistributedRun {
  /** The command line as typed (without the program name): the plan workers receive, split. */
  argv: readonly string[];
  plan: LoadPlan;
  output: Output;
  signal: AbortSignal;
}

export type Distributor = (run: DistributedRun) => Promise<ExitCode>;

/**
 * Load mode reaches the coordinator through this registry instead of an import: the coordinator
 * speaks NATS (a slice above load/ and command/), and imports only point down. `comms-cli worker`'s
 * register() provides it, together with the command line of the action being run.
 */
let distributor: Distributor | undefined;
let commandLine: readonly string[] = [];

export function provideDistributor(d: Distributor): void {
  distributor = d;
}

/** Called just before a command's action runs (a commander preAction hook). */
export function noteCommandLine(argv: readonly string[]): void {
  commandLine = [...argv];
}

export function distributeLoad(plan: LoadPlan, output: Output, signal: AbortSignal): Promise<ExitCode> {
  if (!distributor) throw new Error('distributed load is not available in this build');
  return distributor({ argv: commandLine, plan, output, signal });
}
