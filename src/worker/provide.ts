import type { Command } from 'commander';
import { noteCommandLine, provideDistributor } from '../load/distribute.js';

/**
 * Load mode's coordinator (`--workers N` on any call command), and the command line being run, so the
 * plan workers receive is exactly what was typed. Called for every program, also when only one slice
 * is registered (`comms-cli http ... --workers 3` registers the http slice alone). Its own module so
 * that start-up does not initialise the worker command's option tables (register.ts) for every run.
 */
export function provideCoordinator(program: Command): void {
  program.hook('preAction', () => noteCommandLine((program as unknown as { rawArgs: string[] }).rawArgs));
  provideDistributor(async (run) => {
    const { coordinate } = await import('./coordinator.js');
    return coordinate(run);
  });
}
