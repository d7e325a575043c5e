import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import type { SetExit } from '../program.js';

/** `comms-cli nats ...`: being built (see the issue); registered here so the command tree is complete. */
export function registerNats(_program: Command, _ctx: CommandContext, _setExit: SetExit): void {}
