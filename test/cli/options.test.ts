import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { type CallSettings, callSettingsFrom } from '../../src/command/call-options.js';
import type { CommandContext } from '../../src/command/context.js';
import {
  addOptions,
  choice,
  duration,
  flag,
  fraction,
  integer,
  list,
  number,
  type OptionTable,
  parseValues,
  path,
  readOptions,
  text,
} from '../../src/command/option.js';
import {
  OUTPUT_OPTIONS,
  outputFrom,
  RESILIENCE_OPTIONS,
  resilienceFrom,
} from '../../src/command/shared-options.js';
import { TLS_OPTIONS, tlsFrom } from '../../src/command/tls-options.js';
import { DEFAULT_RESILIENCE } from '../../src/core/resilience.js';
import { UsageError } from '../../src/errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../../src/errors/exit-codes.js';
import { LOAD_OPTIONS } from '../../src/load/options.js';
import { httpPlanFrom } from '../../src/transports/http/commands/request.js';
import { HTTP_OPTIONS } from '../../src/transports/http/flags.js';
import { makeCerts } from '../kit/certs.js';

/*
 * Argument parsing, in-process and without sending anything: the option builders of
 * src/command/option.ts one by one, then whole command lines through the real program
 * (buildProgram) with a fake CommandContext. A command's action is swapped for one that only turns
 * its options into the plan its runner would get, so parsing is tested at the edge it happens at.
 */

const dir = mkdtempSync(join(tmpdir(), 'comms-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Expect `fn` to throw a UsageError whose message names `flag` (and the bad value when given). */
function expectUsage(fn: () => unknown, flagName: string, value?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected a UsageError naming ${flagName}`).toBeInstanceOf(UsageError);
  const message = (thrown as UsageError).message;
  expect(message).toContain(flagName);
  if (value !== undefined) expect(message).toContain(value);
  expect(exitCodeForKind((thrown as UsageError).kind)).toBe(ExitCode.usage);
}

describe('option builders: parse, defaults, errors naming the flag', () => {
  const T = {
    name: text('--name <text>', 'a name'),
    greeting: text('--greeting <text>', 'with a default', { default: 'hello' }),
    file: path('-f, --file <file>', 'a file'),
    count: integer('-c, --count <n>', 'a count', { min: 1, max: 10 }),
    tries: integer('--tries <n>', 'with a default', { default: 3 }),
    rate: number('--rate <n>', 'a rate', { max: 100 }),
    share: fraction('--share <f>', 'a fraction'),
    wait: duration('--wait <dur>', 'a wait', { default: 2_000 }),
    verbose: flag('-v, --verbose', 'a switch'),
    color: flag('--no-color', 'a negated switch'),
    mode: choice('--mode <m>', 'a choice', ['fast', 'safe'] as const, { default: 'safe' }),
    tag: list('-t, --tag <tag>', 'repeatable'),
    port: list('--port <n>', 'repeatable, parsed', { each: (raw, f) => Number.parseInt(raw, 10) || fail(f) }),
  } satisfies OptionTable;

  function fail(f: string): never {
    throw new UsageError(`invalid ${f}`);
  }

  it('absent options take their defaults (lists empty, switches false, --no-x true)', () => {
    expect(parseValues(T, {})).toEqual({
      name: undefined,
      greeting: 'hello',
      file: undefined,
      count: undefined,
      tries: 3,
      rate: undefined,
      share: undefined,
      wait: 2_000,
      verbose: false,
      color: true,
      mode: 'safe',
      tag: [],
      port: [],
    });
  });

  it.each<[keyof typeof T, string | string[], unknown]>([
    ['name', 'x y', 'x y'],
    ['file', 'a/b.json', 'a/b.json'],
    ['count', '10', 10],
    ['count', ' 1 ', 1],
    ['rate', '2.5', 2.5],
    ['rate', '40%', 40],
    ['share', '0.3', 0.3],
    ['share', '30%', 0.3],
    ['share', '1', 1],
    ['wait', '250ms', 250],
    ['wait', '2s', 2_000],
    ['wait', '1m', 60_000],
    ['mode', 'fast', 'fast'],
    ['tag', ['a', 'b'], ['a', 'b']],
    ['tag', 'one', ['one']],
    ['port', ['80', '443'], [80, 443]],
  ])('%s accepts %j as %j', (key, raw, value) => {
    expect(parseValues(T, { [key]: raw })[key]).toEqual(value);
  });

  it.each<[keyof typeof T, string, string]>([
    ['file', '', '-f/--file'],
    ['count', '0', '-c/--count'],
    ['count', '11', '-c/--count'],
    ['count', '1.5', '-c/--count'],
    ['count', 'ten', '-c/--count'],
    ['count', '-1', '-c/--count'],
    ['tries', '99999999999999999999', '--tries'],
    ['rate', '-1', '--rate'],
    ['rate', 'fast', '--rate'],
    ['rate', '101', '--rate'],
    ['share', '1.5', '--share'],
    ['share', '130%', '--share'],
    ['share', 'half', '--share'],
    ['wait', 'soon', '--wait'],
    ['wait', '-1s', '--wait'],
    ['wait', '30d', '--wait'],
    ['mode', 'slow', '--mode'],
    ['port', 'http', '--port'],
  ])('%s rejects %j with a usage error naming %s', (key, raw, label) => {
    expectUsage(() => parseValues(T, { [key]: raw }), label);
  });

  it('a bad value is quoted in the message', () => {
    expectUsage(() => parseValues(T, { count: 'ten' }), '-c/--count', "'ten'");
    expectUsage(() => parseValues(T, { mode: 'slow' }), '--mode', 'fast, safe');
  });

  it('entries carry what --help and the docs show: kind, default text, choices, secret', () => {
    expect(T.wait).toMatchObject({ kind: 'duration', defaultText: '2s', default: 2_000 });
    expect(T.tries).toMatchObject({ kind: 'integer', defaultText: '3' });
    expect(T.mode).toMatchObject({ kind: 'enum', choices: ['fast', 'safe'], defaultText: 'safe' });
    expect(T.tag).toMatchObject({ kind: 'list', repeatable: true, default: [] });
    expect(T.color).toMatchObject({ kind: 'boolean', default: true });
    expect(text('--token <t>', 'secret', { secret: true }).secret).toBe(true);
    expect(list('-H, --header <h>', 'map', { mapSyntax: ': ' }).mapSyntax).toBe(': ');
  });

  describe('through commander (addOptions + readOptions)', () => {
    async function parseArgv(argv: string[]) {
      const { Command: Cmd } = await import('commander');
      const cmd = addOptions(new Cmd('t').exitOverride().configureOutput(silent()), T);
      cmd.action(() => {});
      await cmd.parseAsync(argv, { from: 'user' });
      return readOptions(T, cmd.opts());
    }

    it('parses while reading argv: values typed, lists repeat, switches and --no-x', async () => {
      const v = await parseArgv([
        '-c',
        '4',
        '--wait',
        '1s',
        '-t',
        'a',
        '-t',
        'b',
        '-v',
        '--no-color',
        '--share=5%',
      ]);
      expect(v).toMatchObject({
        count: 4,
        wait: 1_000,
        tag: ['a', 'b'],
        verbose: true,
        color: false,
        share: 0.05,
      });
      expect(v.greeting).toBe('hello');
      expect(v.mode).toBe('safe');
    });

    it('defaults when absent, the same as parseValues', async () => {
      expect(await parseArgv([])).toEqual(parseValues(T, {}));
    });

    it('a bad value is a UsageError naming the flag (not commander’s own message)', async () => {
      await expect(parseArgv(['-c', '0'])).rejects.toThrow(UsageError);
      await expect(parseArgv(['-c', '0'])).rejects.toThrow(/-c\/--count/);
      await expect(parseArgv(['--mode', 'slow'])).rejects.toThrow(
        /invalid --mode 'slow': expected one of fast, safe/,
      );
      await expect(parseArgv(['-t', 'a', '--port', '1', '--port', 'x'])).rejects.toThrow(/--port/);
    });
  });
});

// ---- whole command lines through the real program ----

function silent() {
  return { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
}

function fakeContext(): CommandContext & { exits: number[] } {
  const exits: number[] = [];
  const sink = () => new PassThrough() as unknown as NodeJS.WriteStream;
  return {
    exits,
    signal: new AbortController().signal,
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    stdout: sink(),
    stderr: sink(),
    setExit: (code) => exits.push(code),
    run: async () => ExitCode.ok,
  };
}

/**
 * One row per command: how to reach it, its option table, and the step that turns the parsed values
 * into what its runner receives (the shared CallSettings among them). Adding a converted command's
 * cases is one row here.
 */
interface CommandRow {
  /** The command path in the program (`['grpc', 'call']`). */
  path: string[];
  /** A valid command line up to its options (arguments included); nothing is sent. */
  argv: string[];
  table: OptionTable;
  /** The command's own edge step: (arguments, values) -> the plan its runner takes. */
  plan(args: string[], values: Record<string, unknown>): { values: unknown } & CallSettings;
}

const COMMANDS: CommandRow[] = [
  {
    path: ['http'],
    argv: ['http', 'get', 'http://127.0.0.1:1/'],
    table: HTTP_OPTIONS,
    plan: ([method, url], values) => httpPlanFrom(method ?? '', url, values as never),
  },
];

interface Parsed {
  /** The exit code the command line would end with (0 when it parsed). */
  code: number;
  error?: Error;
  args?: string[];
  plan?: { values: unknown } & CallSettings;
}

/** Parse a command line through buildProgram; the row's action builds the plan instead of running it. */
async function parseCommand(row: CommandRow, extra: string[]): Promise<Parsed> {
  const ctx = fakeContext();
  const program = await buildProgram(ctx);
  const quiet = (cmd: Command) => {
    cmd.configureOutput(silent());
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(program);
  let cmd: Command = program;
  for (const name of row.path) {
    const next = cmd.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${row.path.join(' ')}`);
    cmd = next;
  }
  const out: Parsed = { code: ExitCode.ok };
  cmd.action((...all: unknown[]) => {
    const self = all.at(-1) as Command;
    out.args = all.slice(0, -2) as string[];
    out.plan = row.plan(out.args, readOptions(row.table, self.opts()));
    ctx.setExit(ExitCode.ok);
  });
  try {
    await program.parseAsync([...row.argv, ...extra], { from: 'user' });
    out.code = ctx.exits.at(-1) ?? ExitCode.ok;
  } catch (err) {
    out.error = err as Error;
    // As main.ts maps them: commander's own errors and UsageError are exit 2.
    out.code =
      err instanceof CommanderError ? ExitCode.usage : exitCodeForKind((err as UsageError).kind ?? 'local');
  }
  return out;
}

describe.each(COMMANDS)('$path.0: the shared option tables', (row) => {
  const ok = async (extra: string[]) => {
    const r = await parseCommand(row, extra);
    expect(r.error, r.error?.message).toBeUndefined();
    expect(r.code).toBe(0);
    return r.plan!;
  };
  const usage = async (extra: string[], message: RegExp) => {
    const r = await parseCommand(row, extra);
    expect(r.code, `expected exit 2 for ${extra.join(' ')}`).toBe(ExitCode.usage);
    expect(r.error?.message).toMatch(message);
    expect(r.plan).toBeUndefined(); // nothing ran
  };

  it('declares every shared table it takes', () => {
    for (const table of [RESILIENCE_OPTIONS, LOAD_OPTIONS, OUTPUT_OPTIONS]) {
      for (const key of Object.keys(table)) expect(row.table, key).toHaveProperty(key);
    }
  });

  it('defaults: one call, the contract’s resilience, human output', async () => {
    const plan = await ok([]);
    expect(plan.load).toBeUndefined();
    expect(plan.resilience).toEqual({
      timeoutMs: DEFAULT_RESILIENCE.timeoutMs,
      retries: 0,
      backoffMs: DEFAULT_RESILIENCE.backoffMs,
      backoffMaxMs: DEFAULT_RESILIENCE.backoffMaxMs,
      breakerCooldownMs: DEFAULT_RESILIENCE.breakerCooldownMs,
    });
    expect(plan.output).toMatchObject({ json: false, quiet: false, verbose: false, showSecrets: false });
  });

  describe('resilience', () => {
    it('parses every flag into the pipeline options', async () => {
      const plan = await ok([
        '--timeout',
        '2s',
        '--max-time',
        '1m',
        '--retries',
        '3',
        '--backoff',
        '50ms',
        '--backoff-max',
        '5s',
        '--breaker',
        '4',
        '--breaker-cooldown',
        '30s',
        '--breaker-state',
        join(dir, 'state.json'),
      ]);
      expect(plan.resilience).toEqual({
        timeoutMs: 2_000,
        maxTimeMs: 60_000,
        retries: 3,
        backoffMs: 50,
        backoffMaxMs: 5_000,
        breaker: 4,
        breakerCooldownMs: 30_000,
        breakerStateFile: join(dir, 'state.json'),
      });
    });

    it('--timeout 0 disables the per-attempt timeout (not an immediate one)', async () => {
      expect((await ok(['--timeout', '0'])).resilience.timeoutMs).toBe(0);
    });

    it.each([
      [['--timeout', 'soon'], /invalid --timeout 'soon'/],
      [['--max-time', '-1s'], /--max-time/],
      [['--retries', 'many'], /invalid --retries 'many'/],
      [['--retries', '-1'], /--retries/],
      [['--backoff', '1x'], /--backoff/],
      [['--backoff-max', ''], /--backoff-max/],
      [['--breaker', '0'], /invalid --breaker '0'/],
      [['--breaker-cooldown', 'later'], /--breaker-cooldown/],
      [['--breaker-state', join(dir, 's.json')], /--breaker-state needs --breaker/],
    ])('%j is a usage error', async (extra, message) => {
      await usage(extra, message);
    });
  });

  describe('load', () => {
    it('-n, --duration or --rate switch to load mode', async () => {
      expect((await ok(['-n', '100'])).load).toMatchObject({ requests: 100 });
      expect((await ok(['--duration', '3s'])).load).toMatchObject({ durationMs: 3_000 });
      expect((await ok(['--rate', '50', '--duration', '1s'])).load).toBeDefined();
      expect((await ok(['-c', '4'])).load).toBeUndefined(); // concurrency alone is not load mode
    });

    it.each([
      [['-n', '0'], /-n\/--requests/],
      [['-n', 'lots'], /-n\/--requests/],
      [['--duration', 'forever'], /--duration/],
      [['--rate', 'fast'], /--rate/],
      [['-n', '10', '-c', '0'], /--concurrency/],
      [['-n', '10', '--expect-p99', 'quick'], /--expect-p99/],
      [['-n', '10', '--max-error-rate', '101'], /--max-error-rate/],
      [['-n', '10', '--connections', '0'], /--connections/],
    ])('%j is a usage error', async (extra, message) => {
      await usage(extra, message);
    });
  });

  describe('output', () => {
    it('switches, and --no-color', async () => {
      const plan = await ok(['--json', '-q', '-v', '--no-color', '--show-secrets', '--debug']);
      expect(plan.output).toMatchObject({
        json: true,
        quiet: true,
        verbose: true,
        color: false,
        showSecrets: true,
        debug: true,
      });
      expect((await ok([])).output).not.toHaveProperty('color');
    });

    it('an unknown flag is a usage error', async () => {
      const r = await parseCommand(row, ['--no-such-flag']);
      expect(r.code).toBe(ExitCode.usage);
      expect(r.error).toBeInstanceOf(CommanderError);
    });
  });
});

describe('the shared tables outside commander', () => {
  it('resilienceFrom checks the rules between options', () => {
    const values = parseValues(RESILIENCE_OPTIONS, { breakerState: 'x.json' });
    expectUsage(() => resilienceFrom(values), '--breaker-state');
  });

  it('outputFrom reads COMMS_DEBUG', () => {
    const values = parseValues(OUTPUT_OPTIONS, {});
    expect(outputFrom(values, { COMMS_DEBUG: '1' }).debug).toBe(true);
    expect(outputFrom(values, { COMMS_DEBUG: '0' }).debug).toBe(false);
    expect(outputFrom(values, {}).debug).toBe(false);
  });

  it('callSettingsFrom: the three tables in one step', () => {
    const settings = callSettingsFrom(
      parseValues(
        { ...RESILIENCE_OPTIONS, ...LOAD_OPTIONS, ...OUTPUT_OPTIONS },
        { requests: '5', json: true },
      ),
    );
    expect(settings.load).toMatchObject({ requests: 5 });
    expect(settings.output.json).toBe(true);
  });

  describe('TLS', () => {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
    // The files are checked (a certificate, a matching key): real ones from the test CA.
    const certs = makeCerts();

    it('reads the files named, and passes -k and --servername', () => {
      const material = tlsFrom(
        parseValues(TLS_OPTIONS, {
          cacert: certs.caCert,
          cert: certs.clientCert,
          key: certs.clientKey,
          insecure: true,
          servername: 'svc.local',
        }),
      );
      expect(material.ca?.toString()).toContain('BEGIN CERTIFICATE');
      expect(material).toMatchObject({ insecure: true, servername: 'svc.local' });
      expect(material.cert).toBeInstanceOf(Buffer);
      expect(material.key).toBeInstanceOf(Buffer);
    });

    it('defaults: verify, nothing read', () => {
      expect(tlsFrom(parseValues(TLS_OPTIONS, {}))).toEqual({ insecure: false });
    });

    it('an unreadable file or half a client pair is a usage error naming the flag', () => {
      expectUsage(() => tlsFrom(parseValues(TLS_OPTIONS, { cacert: join(dir, 'missing.pem') })), '--cacert');
      expectUsage(() => tlsFrom(parseValues(TLS_OPTIONS, { cert: pem })), '--cert needs --key');
      expectUsage(() => tlsFrom(parseValues(TLS_OPTIONS, { key: pem })), '--key needs --cert');
      expectUsage(() => parseValues(TLS_OPTIONS, { cacert: '' }), '--cacert');
    });

    it('the key is a secret (redacted wherever options are shown)', () => {
      expect(TLS_OPTIONS.key.secret).toBe(true);
    });
  });
});

describe('http: the command line', () => {
  const [row] = COMMANDS as [CommandRow];

  it('arguments and its own options reach the plan, typed', async () => {
    const r = await parseCommand(row, [
      '-H',
      'X-A: 1',
      '-H',
      'X-B: 2',
      '--query',
      'q=1',
      '-L',
      '--max-redirs',
      '3',
      '--no-decompress',
      '--expect-time',
      '500ms',
      '--cacert',
      join(dir, 'ca.pem'),
    ]);
    expect(r.error).toBeUndefined();
    expect(r.args).toEqual(['get', 'http://127.0.0.1:1/']);
    expect(r.plan?.values).toMatchObject({
      header: ['X-A: 1', 'X-B: 2'],
      query: ['q=1'],
      location: true,
      maxRedirs: 3,
      decompress: false,
      expectTime: 500,
      cacert: join(dir, 'ca.pem'),
      http2: false,
      insecure: false,
    });
  });

  it.each([
    [['--max-redirs', 'all'], /invalid --max-redirs 'all'/],
    [['--expect-time', 'fast'], /--expect-time/],
    [['-o', ''], /-o\/--output needs a file name/],
  ])('%j is a usage error', async (extra, message) => {
    const r = await parseCommand(row, extra);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.error?.message).toMatch(message);
  });

  it('a missing argument is a usage error (the URL is optional to commander: `http -X PURGE URL`)', async () => {
    const r = await parseCommand({ ...row, argv: ['http', 'get'] }, []);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.error).toBeInstanceOf(UsageError);
    expect(r.error?.message).toMatch(/missing required argument 'url'/);
    expect((await parseCommand({ ...row, argv: ['http'] }, [])).error).toBeInstanceOf(CommanderError);
  });
});
