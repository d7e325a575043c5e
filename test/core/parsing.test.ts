import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { parseExact } from '../../src/core/exact-json.js';
import { parseExpectJson, prepareExpectJson } from '../../src/core/expectation.js';
import { judge } from '../../src/core/match.js';
import { expandTemplate } from '../../src/core/template.js';
import { redactDeep, redactUrl } from '../../src/output/redact.js';
import { parseStatusSpec } from '../../src/transports/http/status-spec.js';

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['500us', 0.5],
    ['40', 40],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', 'soon', '1x', '-1s', '1 s s'])('rejects %j as a usage error', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(expect.objectContaining({ kind: 'usage' }));
  });
});

describe('--expect-status specs', () => {
  it.each([
    ['200', 200, true],
    ['200', 201, false],
    ['2xx', 299, true],
    ['2xx', 300, false],
    ['200,204', 204, true],
    ['200-299', 250, true],
    ['4xx,500', 500, true],
  ])('%s matches %d: %s', (spec, status, ok) => expect(parseStatusSpec(spec).test(status)).toBe(ok));
  it.each(['2yy', '20', '299-200', ''])('rejects %j', (spec) =>
    expect(() => parseStatusSpec(spec)).toThrow(/invalid --expect-status/),
  );
});

describe("--expect-json specs (the check files' paths and matchers)", () => {
  const doc = parseExact(
    '{"items":[{"id":42},{"id":43,"a b":true}],"n":null,"qty":3,"big":9007199254740993,"name":"widget"}',
  );
  it.each([
    '$.items[0].id=42',
    'items[1].id=43',
    '$.items[-1]["a b"]=true',
    '$.n=null',
    '$.qty>0',
    '$.qty>=3',
    '$.qty<3.5',
    '$.qty!=4',
    '$.items.length>=2',
    '$.items.length=2',
    '$.name.length=6',
    '$.name=/^wid/',
    '$.big=9007199254740993',
    '$.big>9007199254740992',
    '$.missing!=1',
  ])('%s holds', (spec) => expect(parseExpectJson(spec).judge(doc)).toBeUndefined());
  it.each([
    ['$.items[0].id=7', 'expected $.items[0].id = 7, got 42'],
    ['$.qty>3', 'expected $.qty > 3, got 3'],
    ['$.items.length>=3', 'expected $.items.length >= 3, got 2'],
    ['$.big=9007199254740992', 'expected $.big = 9007199254740992, got 9007199254740993'],
    ['$.big<=9007199254740992', 'expected $.big <= 9007199254740992, got 9007199254740993'],
    ['$.items[5].id=1', 'expected $.items[5].id = 1, but $.items[5].id is absent'],
  ])('%s fails: %s', (spec, message) => expect(parseExpectJson(spec).judge(doc)).toBe(message));
  it.each(['$.items[', 'no operator', '$.qty>many', '=1'])('rejects %j as a usage error', (spec) =>
    expect(() => parseExpectJson(spec)).toThrow(expect.objectContaining({ kind: 'usage' })),
  );
  it('non-singular paths (wildcards, filters, descendants) load the JSONPath engine first', async () => {
    const specs = ['$..id.length=2', '$.items[?@.id>42].id=[43]', '$.items[*].id=[42,43]'];
    await prepareExpectJson(specs);
    for (const spec of specs) expect(parseExpectJson(spec).judge(doc), spec).toBeUndefined();
    expect(parseExpectJson('$.items[*].id=[1]').judge(doc)).toBe('expected $.items[*].id = [1], got [42,43]');
  });
  it('check-file matchers compare exact numbers exactly and plain ones as before', () => {
    const big = parseExact('9007199254740993');
    expect(judge(big, { gt: parseExact('9007199254740992') })).toEqual([]);
    expect(judge(big, parseExact('9007199254740992'))).not.toEqual([]);
    expect(judge(3, { lt: 4, gte: 3 })).toEqual([]);
    expect(judge('12', 12)).toEqual([]);
  });
});

describe('redaction', () => {
  it('hides URL passwords and secret query parameters', () => {
    expect(redactUrl('https://u:pw@h/x?token=abc&page=2')).toBe(
      'https://u:[REDACTED]@h/x?token=[REDACTED]&page=2',
    );
    expect(redactUrl('not a url')).toBe('not a url');
  });
  it('hides secret headers at any depth but leaves bodies alone', () => {
    const out = redactDeep({
      headers: { authorization: 'Bearer x', 'x-ok': 'y', 'set-cookie': ['a', 'b'] },
      metadata: { password: 'p' },
      body: { token: 'kept: the body is data' },
    }) as Record<string, Record<string, unknown>>;
    expect(out.headers).toEqual({
      authorization: '[REDACTED]',
      'x-ok': 'y',
      'set-cookie': ['[REDACTED]', '[REDACTED]'],
    });
    expect(out.metadata).toEqual({ password: '[REDACTED]' });
    expect(out.body).toEqual({ token: 'kept: the body is data' });
  });
});

describe('templates', () => {
  it('expands seq, uuid, time and unix', () => {
    const now = new Date('2026-01-02T03:04:05.000Z');
    expect(expandTemplate('orders.{{seq}}', 7, now)).toBe('orders.7');
    expect(expandTemplate('{{time}} {{unix}}', 1, now)).toBe('2026-01-02T03:04:05.000Z 1767323045');
    expect(expandTemplate('{{uuid}}', 1)).toMatch(/^[0-9a-f-]{36}$/);
    expect(expandTemplate('{{other}}', 1)).toBe('{{other}}');
  });
});
