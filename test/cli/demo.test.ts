import { describe, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

describe('comms-cli demo (the quick start)', () => {
  it('runs every part against embedded servers and exits 0 when everything behaved as shown', async () => {
    const r = await runCli(['demo'], { timeoutMs: 90_000 });
    expect(r.stderr).toMatch(/demo: all \d+ steps behaved as shown/);
    expect(r.stderr).not.toMatch(/✗ exit/);
    expect(r.code).toBe(0);
  }, 100_000);

  it('--only picks parts; an unknown part is a usage error', async () => {
    const ok = await runCli(['demo', '--only', 'http']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/short-circuited/);
    const bad = await runCli(['demo', '--only', 'smtp']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown demo part 'smtp'/);
  });
});
