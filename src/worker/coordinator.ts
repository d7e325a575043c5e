import type { ExitCode } from '../errors/exit-codes.js';
import type { DistributedRun } from '../load/distribute.js';
export async function coordinate(_run: DistributedRun): Promise<ExitCode> {
  return 0;
}
