import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CommandContext } from '../../src/command/context.js';
import { optionEntryOf } from '../../src/command/option.js';
import type { OptionEntry } from '../../src/core/options.js';
import { UsageError } from '../../src/errors/comms-error.js';

/*
 * Argument parsing of EVERY command, driven by the command tree itself: every option of every command
 * is a typed table entry (issue 9: declared once, parsed at the edge), a bad value for a typed option
 * is a UsageError naming the flag (exit 2) before any action runs, and a good value parses. Nothing
 * runs: each command's action is replaced by one that records the parsed options.
 */

async function program(): Promise<Command> {
  const sink = () => new PassThrough() as unknown as NodeJS.WriteStream;
  const ctx: CommandContext = {
    signal: new AbortController().signal,
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    stdout: sink(),
    stderr: sink(),
    setExit: () => {},
    run: async () => 0,
  };
  const root = await buildProgram(ctx);
  const quiet = (cmd: Command) => {
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(root);
  return root;
}

interface Leaf {
  path: string[];
  cmd: Command;
}

function leaves(cmd: Command, path: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const sub of cmd.commands) {
    const p = [...path, sub.name()];
    if (sub.commands.length > 0) out.push(...leaves(sub, p));
    else out.push({ path: p, cmd: sub });
  }
  return out;
}

const BAD: Partial<Record<OptionEntry<unknown>['kind'], string>> = {
  integer: 'many',
  duration: 'soon',
  number: 'lots',
  enum: 'no-such-choice',
};

function goodValue(entry: OptionEntry<unknown>): string | undefined {
  switch (entry.kind) {
    // A bounded option's own default is a value it accepts (`--fail-status` 503, a port 0).
    case 'integer':
      // Without a default its bounds are unknown here (a close code is 1000-4999): the bad case suffices.
      return typeof entry.default === 'number' ? String(entry.default) : undefined;
    case 'duration':
      return '2s';
    case 'number':
      return typeof entry.default === 'number' ? String(entry.default) : '1';
    case 'enum':
      return entry.choices?.[0];
    default:
      return undefined;
  }
}

/** Parse `path args... extra` with the leaf's action replaced; resolves with the parsed opts or the error. */
async function parse(
  leafPath: string[],
  extra: string[],
): Promise<{ opts?: Record<string, unknown>; error?: unknown }> {
  const root = await program();
  let cmd: Command = root;
  for (const name of leafPath) cmd = cmd.commands.find((c) => c.name() === name) as Command;
  const required = cmd.registeredArguments.filter((a) => a.required).length;
  let opts: Record<string, unknown> | undefined;
  cmd.action((...all: unknown[]) => {
    opts = (all.at(-1) as Command).opts();
  });
  // Hooks other slices install (e.g. recording the command line for distributed load) stay out of it.
  (cmd as unknown as { _lifeCycleHooks: Record<string, unknown[]> })._lifeCycleHooks = {};
  (root as unknown as { _lifeCycleHooks: Record<string, unknown[]> })._lifeCycleHooks = {};
  try {
    await root.parseAsync([...leafPath, ...Array.from({ length: required }, () => 'x'), ...extra], {
      from: 'user',
    });
    return { ...(opts ? { opts } : {}) };
  } catch (error) {
    return { error };
  }
}

const all = leaves(await program());

describe('every command parses its options from typed table entries', () => {
  it('finds the commands of every slice', () => {
    const names = new Set(all.map((l) => l.path.join(' ')));
    for (const n of [
      'http',
      'grpc call',
      'nats publish',
      'ws',
      'sse',
      'amqp publish',
      'mqtt subscribe',
      'check',
    ])
      expect(names, n).toContain(n);
  });

  it.each(all.map((l) => [l.path.join(' '), l] as const))(
    '%s: every option is a table entry',
    (_name, leaf) => {
      for (const option of leaf.cmd.options) {
        if (option.long === '--help' || option.long === '--version') continue;
        expect(
          optionEntryOf(option),
          `${leaf.path.join(' ')} ${option.flags} has no table entry`,
        ).toBeDefined();
      }
    },
  );

  it.each(all.map((l) => [l.path.join(' '), l] as const))(
    '%s: bad typed values are usage errors naming the flag; good ones parse',
    async (_name, leaf) => {
      for (const option of leaf.cmd.options) {
        const found = optionEntryOf(option);
        if (!found || !option.long) continue;
        const bad = BAD[found.entry.kind];
        if (bad === undefined) continue;
        const r = await parse(leaf.path, [option.long, bad]);
        expect(r.error, `${leaf.path.join(' ')} ${option.long} ${bad}`).toBeInstanceOf(UsageError);
        expect((r.error as Error).message).toContain(option.long);
        const good = goodValue(found.entry);
        if (good === undefined) continue;
        const ok = await parse(leaf.path, [option.long, good]);
        // A good value may still meet a cross-option rule in the plan step; the parser itself accepts it.
        if (ok.error instanceof UsageError) expect((ok.error as Error).message).not.toContain(`'${good}'`);
      }
    },
  );
});
