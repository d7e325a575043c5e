import type { CommandContext } from '../../../command/context.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import type { Output } from '../../../output/output.js';
import type { WsCall } from '../call.js';
import type { Outgoing } from '../outgoing.js';
import type { WsPlan } from '../plan.js';

export async function runWsLoad(
  _plan: WsPlan,
  _call: WsCall,
  _outgoing: Outgoing[],
  _ctx: CommandContext,
  _output: Output,
): Promise<ExitCode> {
  throw new UsageError('ws load mode is not implemented yet');
}
