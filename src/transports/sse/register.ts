import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';

export function register(_program: Command, _ctx: CommandContext): void {}
