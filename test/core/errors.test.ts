import { describe, expect, it } from 'vitest';
import { toCommsError } from '../../src/errors/classify.js';
import { ExitCode, exitCodeForKind, worstExitCode } from '../../src/errors/exit-codes.js';

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
