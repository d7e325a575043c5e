import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addOptions } from '../../src/command/option.js';
import { flag, text } from '../../src/core/options.js';

/*
 * addOptions answers commander's clash check from a map while a table is added (a linear scan per
 * flag otherwise). The check must still refuse a flag that is already taken, by the same table or by
 * an option added before, and commander's own lookup must be back afterwards.
 */
describe('addOptions', () => {
  it('adds every entry and parses them', () => {
    const cmd = new Command('t').exitOverride();
    addOptions(cmd, { name: text('-N, --name <n>', 'a name'), quiet: flag('-q, --quiet', 'quiet') });
    cmd.parse(['-N', 'x', '--quiet'], { from: 'user' });
    expect(cmd.opts()).toEqual({ name: 'x', quiet: true });
  });

  it('refuses a flag taken by an earlier entry of the same table', () => {
    const cmd = new Command('t');
    expect(() =>
      addOptions(cmd, { a: text('-a, --alpha <v>', 'one'), b: text('-a, --beta <v>', 'two') }),
    ).toThrow(/conflicting flag '-a'/);
  });

  it('refuses a flag taken by an option added before the table', () => {
    const cmd = new Command('t').option('--alpha <v>', 'first');
    expect(() => addOptions(cmd, { a: text('--alpha <v>', 'again') })).toThrow(/conflicting flag '--alpha'/);
  });

  it("leaves commander's own lookup in place afterwards", () => {
    const cmd = new Command('t');
    addOptions(cmd, { a: text('--alpha <v>', 'one') });
    expect(Object.hasOwn(cmd, '_findOption')).toBe(false);
    expect(() => cmd.option('--alpha <v>', 'again')).toThrow(/conflicting flag '--alpha'/);
  });
});
