import { describe, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

/** `demo -q` prints the verdict only (issue 10): nothing from the steps, the same exit code. */
describe('comms-cli demo -q', () => {
  it('prints one verdict line on stderr, nothing on stdout, and exits 0 when every step behaved', async () => {
    // http has steps that are meant to fail (exit 1, 4, 5) and print "error: ..." without -q;
    // events has bodies and reads that print data on stdout.
    const r = await runCli(['demo', '-q', '--only', 'http,events'], { timeoutMs: 90_000 });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^demo: all \d+ steps behaved as shown\n$/);
    expect(r.code).toBe(0);
  }, 100_000);

  it('without -q the same parts show their steps (the quiet run hid them, it did not skip them)', async () => {
    const r = await runCli(['demo', '--only', 'http,events'], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/error: /); // the steps that are meant to fail say so
    expect(r.stderr).toMatch(/demo: all \d+ steps behaved as shown/);
    const steps = Number(/all (\d+) steps/.exec(r.stderr)?.[1]);
    expect(steps).toBeGreaterThan(5);
  }, 100_000);
});
