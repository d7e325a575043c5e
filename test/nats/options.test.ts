import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseValues } from '../../src/command/option.js';
import { stdinLines } from '../../src/core/input.js';
import { UsageError } from '../../src/errors/comms-error.js';
import { PUBLISH_OPTIONS, REPLY_OPTIONS, SUBSCRIBE_OPTIONS } from '../../src/transports/nats/flags.js';

describe('nats option tables', () => {
  it('--fail-rate takes a fraction or a percentage, the same value either way', () => {
    expect(parseValues(REPLY_OPTIONS, { failRate: '0.3' }).failRate).toBe(0.3);
    expect(parseValues(REPLY_OPTIONS, { failRate: '30%' }).failRate).toBeCloseTo(0.3);
    expect(() => parseValues(REPLY_OPTIONS, { failRate: '150%' })).toThrow(/invalid --fail-rate/);
  });

  it('counts are whole numbers, durations are milliseconds, defaults are applied', () => {
    const pub = parseValues(PUBLISH_OPTIONS, {});
    expect(pub.count).toBe(1);
    expect(pub.name).toBe('comms-cli');
    expect(pub.server).toBeUndefined();
    expect(() => parseValues(PUBLISH_OPTIONS, { count: 'lots' })).toThrow(UsageError);
    expect(() => parseValues(PUBLISH_OPTIONS, { count: '0' })).toThrow(/invalid --count '0'/);
    const sub = parseValues(SUBSCRIBE_OPTIONS, { timeout: '2s' });
    expect(sub.timeout).toBe(2000);
    expect(sub.ackWait).toBe(30_000);
    expect(sub.deliver).toBe('all');
    expect(sub.ack).toBe(true);
    expect(parseValues(REPLY_OPTIONS, { execTimeout: '250ms' }).execTimeout).toBe(250);
  });

  it('credentials are marked secret', () => {
    for (const key of ['password', 'token', 'creds', 'nkey'] as const)
      expect(PUBLISH_OPTIONS[key].secret).toBe(true);
    expect(PUBLISH_OPTIONS.user.secret).toBeUndefined();
  });
});

describe('stdinLines (every --lines option)', () => {
  const collect = async (chunks: Array<string | Buffer>, signal?: AbortSignal) => {
    const input = new PassThrough();
    for (const c of chunks) input.write(c);
    input.end();
    const lines: string[] = [];
    for await (const line of stdinLines(input, signal)) lines.push(line);
    return lines;
  };

  it('splits at \\n only: CRLF loses its \\r, a lone \\r is data, blank lines and a last unterminated line count', async () => {
    expect(await collect(['a\r\nb\rc\n\nlast'])).toEqual(['a', 'b\rc', '', 'last']);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const euro = Buffer.from('€\n');
    expect(await collect([euro.subarray(0, 1), euro.subarray(1)])).toEqual(['€']);
  });

  it('ends when the signal aborts, even while stdin is idle', async () => {
    const input = new PassThrough();
    input.write('one\n');
    const controller = new AbortController();
    const lines: string[] = [];
    const done = (async () => {
      for await (const line of stdinLines(input, controller.signal)) {
        lines.push(line);
        controller.abort();
      }
    })();
    await done;
    expect(lines).toEqual(['one']);
    expect(input.destroyed).toBe(true);
  });
});
