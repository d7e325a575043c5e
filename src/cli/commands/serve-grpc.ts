import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import type { SetExit } from '../program.js';

/** `comms-cli serve grpc`: being built with the gRPC transport. */
export function registerServeGrpc(_serve: Command, _ctx: CommandContext, _setExit: SetExit): void {}
