import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * --expect-count / --expect-message on `ws` and `sse`: the shared stream expectations (the same
 * options and matcher as nats subscribe, amqp consume, mqtt subscribe), end to end against
 * `comms-cli serve ws` and `comms-cli serve http` (its /sse endpoint).
 */

let ws: CliProcess;
let http: CliProcess;
let wsBase = '';
let httpBase = '';

beforeAll(async () => {
  ws = startCli(['serve', 'ws', '--port', '0']);
  http = startCli(['serve', 'http', '--port', '0']);
  wsBase = (await ws.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '';
  httpBase = (await http.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
}, 30_000);

afterAll(async () => {
  ws.kill('SIGINT');
  http.kill('SIGINT');
  await Promise.all([ws.exited, http.exited]);
  killSurvivors();
});

/** The error lines of a run's stderr. */
function errors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error:'));
}

describe('ws: --expect-count and --expect-message (shared)', () => {
  it('--expect-count N stops after N messages (exit 0)', async () => {
    const r = await runCli(['ws', `${wsBase}/ticker?every=10ms`, '--expect-count', '3', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('--expect-count with --count: a message too many fails at once (exit 1, one line)', async () => {
    const r = await runCli(['ws', `${wsBase}/ticker?every=10ms`, '--expect-count', '2', '--count', '5']);
    expect(r.code).toBe(1);
    expect(errors(r.stderr)).toEqual([
      `error: expected 2 messages, got 3 (or more) (${wsBase}/ticker?every=10ms)`,
    ]);
  });

  it('--expect-count with --timeout is a window: exactly N in it is exit 0, fewer exit 1', async () => {
    // /echo answers each message once and then goes quiet: the idle timeout closes the window.
    const ok = await runCli([
      'ws',
      `${wsBase}/echo`,
      '-m',
      'a',
      '-m',
      'b',
      '--listen',
      '--expect-count',
      '2',
      '--timeout',
      '500ms',
      '-q',
    ]);
    expect(ok.code).toBe(0);
    const few = await runCli([
      'ws',
      `${wsBase}/echo`,
      '-m',
      'a',
      '--listen',
      '--expect-count',
      '2',
      '--timeout',
      '500ms',
    ]);
    expect(few.code).toBe(1);
    expect(errors(few.stderr)).toEqual([`error: expected 2 messages, got 1 (${wsBase}/echo)`]);
  });

  it('--expect-message takes comparisons, as --expect-json: $.tick>2, $.items.length>=2', async () => {
    const cmp = await runCli(['ws', `${wsBase}/ticker?every=10ms`, '--expect-message', '$.tick>2', '-q']);
    expect(cmp.code).toBe(0);
    expect(cmp.stdout.trim().split('\n')).toHaveLength(3);
    const len = await runCli([
      'ws',
      `${wsBase}/echo`,
      '-m',
      '{"items":[1,2,3],"id":9007199254740993}',
      '--expect-message',
      '$.items.length>=2',
      '--expect-message',
      // Numbers compare exactly, beyond a double's precision.
      '$.id>9007199254740992',
      '-q',
    ]);
    expect(len.code).toBe(0);
  });

  it('a stream that ends without a match is exit 1 naming the expectation and what came', async () => {
    const r = await runCli([
      'ws',
      `${wsBase}/ticker?every=10ms`,
      '--expect-message',
      '$.tick>5',
      '--count',
      '2',
    ]);
    expect(r.code).toBe(1);
    expect(errors(r.stderr)).toEqual([
      `error: expected a message matching $.tick>5, none of 2 did (${wsBase}/ticker?every=10ms)`,
    ]);
  });

  it.each([
    [['--expect-count', 'abc'], /^error: invalid --expect-count 'abc': expected a whole number$/m],
    [['--expect-message', '$.a>x'], /^error: invalid --expect-message '\$\.a>x': > needs a number/m],
    [['--expect-message', ''], /^error: invalid --expect-message '': expected text/m],
    [
      ['-m', 'x', '-n', '3', '--expect-count', '2'],
      /^error: --expect-count counts the messages of one session/m,
    ],
  ])('bad spec %j → exit 2, nothing sent', async (args, re) => {
    const r = await runCli(['ws', 'ws://127.0.0.1:1/', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(errors(r.stderr)).toHaveLength(1);
  });
});

describe('sse: --expect-count, --expect-message and --expect-event (shared)', () => {
  it('--expect-count N: exit 0 after N events; a stream that ends short is exit 1', async () => {
    const ok = await runCli(['sse', `${httpBase}/sse?count=5&every=10ms`, '--expect-count', '3', '-q']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(3);
    const url = `${httpBase}/sse?count=2&every=10ms`;
    const short = await runCli(['sse', url, '--expect-count', '3']);
    expect(short.code).toBe(1);
    expect(errors(short.stderr)).toEqual([`error: expected 3 messages, got 2 (${url})`]);
  });

  it('--expect-count with --count: one event too many is exit 1 at once', async () => {
    const url = `${httpBase}/sse?count=50&every=10ms`;
    const r = await runCli(['sse', url, '--expect-count', '2', '--count', '10', '-q']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(errors(r.stderr)).toEqual([`error: expected 2 messages, got 3 (or more) (${url})`]);
  });

  it('--expect-message and --expect-event are the same matcher, comparisons included', async () => {
    const both = await runCli([
      'sse',
      `${httpBase}/sse?count=9&every=10ms`,
      '--expect-message',
      '$.n>=4',
      '--expect-event',
      '/"n":2/',
      '-q',
    ]);
    expect(both.code).toBe(0);
    expect(both.stdout.trim().split('\n')).toHaveLength(4);
    const url = `${httpBase}/sse?count=2&every=10ms`;
    const miss = await runCli(['sse', url, '--expect-message', '$.n>=4']);
    expect(miss.code).toBe(1);
    expect(errors(miss.stderr)).toEqual([
      `error: expected a message matching $.n>=4, none of 2 did (${url})`,
    ]);
  });

  it.each([
    [['--expect-count', '-1'], /^error: invalid --expect-count '-1'/m],
    [['--expect-message', '/(/'], /^error: invalid regular expression in --expect-message/m],
    [['--expect-event', '$.n>='], /^error: invalid --expect-event '\$\.n>='/m],
  ])('bad spec %j → exit 2', async (args, re) => {
    const r = await runCli(['sse', 'http://127.0.0.1:1/', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(errors(r.stderr)).toHaveLength(1);
  });
});
