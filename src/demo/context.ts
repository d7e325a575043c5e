import type { Output } from '../output/output.js';

/** What a demo part gets: the output and Ctrl-C signal, and `step`/`command` to show and check one behaviour. */
export interface DemoContext {
  readonly out: Output;
  readonly signal: AbortSignal;
  /**
   * Print a titled step, run it, and compare the exit code it produced with the one the demo says it
   * will produce. A mismatch makes `comms-cli demo` exit 1.
   */
  step(title: string, expectedExit: number, run: () => Promise<number>): Promise<void>;
  /**
   * Show `$ comms-cli ARGV...` and run that exact command line in this process (the same code path
   * a user's command takes), with the demo's output flags (-q, -v, --no-color) appended.
   */
  command(argv: readonly string[]): Promise<number>;
  /**
   * This part cannot run here (no nats-server, no broker): shown as one line, and named in the
   * verdict (so `demo -q`, which prints the verdict only, still says what was not shown).
   */
  skip(reason: string): void;
}

/** A demo part: starts its own embedded servers on random ports and stops them before returning. */
export type DemoPart = (ctx: DemoContext) => Promise<void>;
