import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

/*
 * `comms-cli completion bash|zsh|fish`: the scripts are generated from the command tree, so the test
 * drives the real shells (bash is always here; zsh and fish when installed) against the printed script.
 */

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
const hasZsh = has('zsh');
const hasFish = has('fish');
if (!hasZsh) console.warn('completion.test: zsh is not installed; its syntax check is skipped');
if (!hasFish) console.warn('completion.test: fish is not installed; its syntax check is skipped');

let dir = '';
let topLevel: string[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comms-completion-'));
  const help = await runCli(['--help']);
  const block = help.stdout.split('Commands:')[1] ?? '';
  topLevel = [...block.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
    .map((m) => m[1] as string)
    .filter((n) => n !== 'help');
  expect(topLevel).toContain('http');
  expect(topLevel).toContain('completion');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash's completion function offers for the words typed so far (the last one being completed). */
function bashOffers(script: string, typed: string[]): string[] {
  const words = typed.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${words}); COMP_CWORD=${typed.length - 1}; _comms_cli; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      script,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('comms-cli completion', () => {
  it('bash: a valid script whose function completes commands, subcommands, flags and fixed values', async () => {
    const run = await runCli(['completion', 'bash']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const file = join(dir, 'comms-cli.bash');
    writeFileSync(file, run.stdout);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);

    expect(bashOffers(file, ['comms-cli', 'ht'])).toEqual(['http']);
    expect(bashOffers(file, ['comms-cli', 'http', 'get', 'URL', '--ret'])).toContain('--retries');
    expect(bashOffers(file, ['comms-cli', 'gr'])).toEqual(['grpc']);
    // subcommands and aliases of a group
    expect(bashOffers(file, ['comms-cli', 'nats', 're'])).toEqual(
      expect.arrayContaining(['request', 'reply', 'req']),
    );
    // a flag's value is skipped when finding the command path; fixed values are offered after the flag
    expect(bashOffers(file, ['comms-cli', 'mqtt', '--help', 'publish', '--qos', ''])).toEqual([
      '0',
      '1',
      '2',
    ]);
    expect(bashOffers(file, ['comms-cli', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // every top-level command is offered at the top
    expect(bashOffers(file, ['comms-cli', ''])).toEqual(expect.arrayContaining(topLevel));
  });

  it('zsh: names every top-level command', async () => {
    const run = await runCli(['completion', 'zsh']);
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('#compdef comms-cli')).toBe(true);
    for (const name of topLevel) expect(run.stdout).toContain(`'${name}:`);
  });

  it.skipIf(!hasZsh)(
    'zsh: the script is accepted by zsh (-n) (skipped when zsh is not installed)',
    async () => {
      const run = await runCli(['completion', 'zsh']);
      const file = join(dir, '_comms-cli');
      writeFileSync(file, run.stdout);
      const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    },
  );

  it('fish: names every top-level command', async () => {
    const run = await runCli(['completion', 'fish']);
    expect(run.code).toBe(0);
    for (const name of topLevel) expect(run.stdout).toContain(`-a '${name}'`);
    expect(run.stdout).toMatch(/-l 'retries' -r/);
  });

  it.skipIf(!hasFish)(
    'fish: the script is accepted by fish (--no-execute) (skipped when fish is not installed)',
    async () => {
      const run = await runCli(['completion', 'fish']);
      const file = join(dir, 'comms-cli.fish');
      writeFileSync(file, run.stdout);
      const check = spawnSync('fish', ['--no-execute', file], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    },
  );

  it('an unknown shell is a one-line usage error, exit 2', async () => {
    const run = await runCli(['completion', 'ksh']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown shell 'ksh'.*bash, zsh, fish/);
  });
});
