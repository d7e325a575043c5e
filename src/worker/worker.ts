import type { CommandContext } from '../command/context.js';
import type { WorkerSettings } from './flags.js';
export async function runWorker(_s: WorkerSettings, _ctx: CommandContext): Promise<number> {
  return 0;
}
