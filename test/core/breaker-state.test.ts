import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBreakerStates, saveBreakerStates } from '../../src/middleware/breaker-state.js';

const dir = mkdtempSync(join(tmpdir(), 'comms-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('breaker state file', () => {
  it('merges keys and survives a corrupt file as a usage error, not a silent reset', async () => {
    const file = join(dir, 'state.json');
    await saveBreakerStates(file, { a: { x: 1 } });
    await saveBreakerStates(file, { b: { y: 2 } });
    expect(loadBreakerStates(file)).toEqual({ a: { x: 1 }, b: { y: 2 } });
    writeFileSync(file, '{not json');
    expect(() => loadBreakerStates(file)).toThrow(/not a breaker state file/);
    expect(readFileSync(file, 'utf8')).toBe('{not json');
  });
  it('a missing file is an empty state', () => expect(loadBreakerStates(join(dir, 'none.json'))).toEqual({}));
});
