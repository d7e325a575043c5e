import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { expandTemplate } from '../../src/core/template.js';
import { redactDeep, redactUrl } from '../../src/output/redact.js';
import { getPath, parseJsonPath } from '../../src/transports/http/json-path.js';
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

describe('JSON paths', () => {
  const doc = { items: [{ id: 42 }, { id: 43, 'a b': true }], n: null };
  it.each([
    ['$.items[0].id', 42],
    ['items[1].id', 43],
    ['$.items[-1]["a b"]', true],
    ['$.n', null],
  ])('%s', (path, want) => expect(getPath(doc, parseJsonPath(path))).toEqual({ found: true, value: want }));
  it('reports missing steps', () => expect(getPath(doc, parseJsonPath('$.items[5].id')).found).toBe(false));
  it('rejects malformed paths', () => expect(() => parseJsonPath('$.items[')).toThrow(/invalid JSON path/));
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
