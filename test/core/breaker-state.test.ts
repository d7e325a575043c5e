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
    const closed = { ownState: { value: 0 }, breakerState: 1 };
    const open = { ownState: { value: 1, openedAt: 1, attemptNo: 1 }, breakerState: 3 };
    await saveBreakerStates(file, { a: closed });
    await saveBreakerStates(file, { b: open });
    expect(loadBreakerStates(file)).toEqual({ a: closed, b: open });
    writeFileSync(file, '{not json');
    expect(() => loadBreakerStates(file)).toThrow(/not a breaker state file/);
    expect(readFileSync(file, 'utf8')).toBe('{not json');
  });
  it('a missing file is an empty state', () => expect(loadBreakerStates(join(dir, 'none.json'))).toEqual({}));
});
