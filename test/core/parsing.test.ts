import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { expandTemplate } from '../../src/core/template.js';
import { toCommsError } from '../../src/errors/classify.js';
import { ExitCode, exitCodeForKind, worstExitCode } from '../../src/errors/exit-codes.js';
import { backoffDelay } from '../../src/middleware/backoff.js';
import { loadBreakerStates, saveBreakerStates } from '../../src/middleware/breaker-state.js';
import { redactDeep, redactUrl } from '../../src/output/redact.js';
import { parseRetryAfter } from '../../src/transports/http/classify.js';
import { getPath, parseJsonPath } from '../../src/transports/http/json-path.js';
import { parseStatusSpec } from '../../src/transports/http/status-spec.js';

const dir = mkdtempSync(join(tmpdir(), 'comms-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

describe('exit codes: one table', () => {
  it.each([
    ['usage', 2],
    ['connect', 3],
    ['timeout', 4],
    ['response', 1],
    ['expectation', 1],
    ['breaker', 5],
    ['interrupted', 130],
  ] as const)('%s -> %d', (kind, code) => expect(exitCodeForKind(kind)).toBe(code));
  it('picks the most telling code of many', () => {
    expect(worstExitCode([0, 1, 4, 1])).toBe(ExitCode.timeout);
    expect(worstExitCode([0, 0])).toBe(0);
    expect(worstExitCode([1, 130, 3])).toBe(130);
  });
});

describe('foreign errors become typed errors by code, never instanceof', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'connect'],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x' }, 'connect'],
    [{ name: 'SocketError', code: 'UND_ERR_SOCKET', message: 'other side closed' }, 'connect'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, 'connect'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }, 'timeout'],
    [{ isBrokenCircuitError: true, message: 'open' }, 'breaker'],
    [{ message: 'something else' }, 'response'],
  ])('%j -> %s', (err, kind) => expect(toCommsError(err).kind).toBe(kind));
  it('keeps the cause chain (undici wraps the system error)', () => {
    const e = toCommsError({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    expect(e.kind).toBe('connect');
  });
  it('a TLS failure carries a hint', () => {
    expect(toCommsError({ code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'x' }).hint).toMatch(/--cacert/);
  });
});

describe('backoff: full jitter, server hint honoured up to the cap', () => {
  it('stays within [0, min(cap, base*2^(n-1))]', () => {
    for (let n = 1; n < 10; n++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(n, 100, 1000);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (n - 1)));
      }
    }
  });
  it('uses the whole range (random = 1 gives the ceiling)', () => {
    expect(backoffDelay(3, 100, 10_000, undefined, () => 1)).toBe(400);
    expect(backoffDelay(3, 100, 10_000, undefined, () => 0)).toBe(0);
  });
  it('Retry-After wins when longer, never beyond the cap', () => {
    expect(backoffDelay(1, 100, 5000, 2000, () => 0.5)).toBe(2000);
    expect(backoffDelay(1, 100, 1500, 2000, () => 0.5)).toBe(1500);
  });
  it('parses Retry-After seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
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

describe('breaker state file', () => {
  it('merges keys and survives a corrupt file as a usage error, not a silent reset', () => {
    const file = join(dir, 'state.json');
    saveBreakerStates(file, { a: { x: 1 } });
    saveBreakerStates(file, { b: { y: 2 } });
    expect(loadBreakerStates(file)).toEqual({ a: { x: 1 }, b: { y: 2 } });
    writeFileSync(file, '{not json');
    expect(() => loadBreakerStates(file)).toThrow(/not a breaker state file/);
    expect(readFileSync(file, 'utf8')).toBe('{not json');
  });
  it('a missing file is an empty state', () => expect(loadBreakerStates(join(dir, 'none.json'))).toEqual({}));
});
