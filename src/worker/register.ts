import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addWorkerOptions, workerSettingsFrom } from './flags.js';

/** `comms-cli worker`: a member of a load pool over NATS. */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('worker')
    .description('join a load pool over NATS: run shares of distributed load runs (--workers) until Ctrl-C')
    .addHelpText(
      'after',
      `
A worker runs only load plans of call commands, and refuses plans that read its files (@file, --proto,
-o, TLS files), run programs (--exec, exec://) or reach hosts outside --allow-targets (loopback only
by default).

Examples:
  $ comms-cli worker --server nats://nats.internal:4222 --name w1 --tags zone=a \\
      --allow-targets 10.0.0.0/8,'*.svc.cluster.local'
  $ comms-cli http get http://10.0.0.5:8080/ -n 100000 -c 60 --workers 3 --workers-server nats://nats.internal:4222`,
    )
    .action(async (_opts: unknown, self: Command) => {
      const settings = workerSettingsFrom(self.opts());
      const { runWorker } = await import('./worker.js');
      ctx.setExit(await runWorker(settings, ctx));
    });
  addWorkerOptions(cmd);
}
