import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * `events tail --timeout` behaves as `nats subscribe --timeout`: the whole wait, exit 4 unless the
 * expected events (--count, or at least one) came in it; exit 0 when they did.
 */
const tmp = mkdtempSync(join(tmpdir(), 'cc-tail-'));
afterAll(() => {
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

describe('events tail --timeout', () => {
  it('nothing arrives: exit 4 naming how many came; an event within the time: exit 0', async () => {
    const store = ['--store', join(tmp, 'a')];
    expect((await runCli(['events', 'append', 'order-1', 'Created', ...store])).code).toBe(0);
    const quiet = await runCli(['events', 'tail', '--timeout', '300ms', ...store]);
    expect(quiet.code).toBe(4);
    expect(quiet.stderr).toMatch(/timed out after 300ms: 0 of 1 expected event/);

    const few = await runCli([
      'events',
      'tail',
      '--from',
      '0',
      '--count',
      '2',
      '--timeout',
      '300ms',
      ...store,
    ]);
    expect(few.code).toBe(4);
    expect(few.stderr).toMatch(/1 of 2 expected events/);

    // Replayed events count: --from 0 sees the one there, and the timeout then ends it with exit 0.
    const replay = await runCli(['events', 'tail', '--from', '0', '--timeout', '300ms', '--json', ...store]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({
      type: 'message',
      transport: 'events',
      n: 1,
      subject: 'order-1',
      data: { aggregate: 'order-1', type: 'Created', position: 1 },
    });

    const live = startCli(['events', 'tail', '--from', '1', '--timeout', '60s', '--count', '1', ...store]);
    expect((await runCli(['events', 'append', 'order-2', 'Created', ...store])).code).toBe(0);
    expect((await live.exited).code, live.stderr()).toBe(0);
  });

  it('a bad --timeout is exit 2', async () => {
    const r = await runCli(['events', 'tail', '--timeout', 'soon', '--store', join(tmp, 'b')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --timeout 'soon'/);
  });
});
