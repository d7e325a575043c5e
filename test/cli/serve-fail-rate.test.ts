import { afterAll, describe, expect, it } from 'vitest';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * `serve http|grpc --fail-rate` takes a fraction written either way, `0.3` or `30%`, like every other
 * fraction option (`nats reply --fail-rate`); out-of-range values are usage errors (exit 2).
 */

const started: CliProcess[] = [];
function serve(args: string[]): CliProcess {
  const p = startCli(['serve', ...args]);
  started.push(p);
  return p;
}

afterAll(async () => {
  for (const p of started) p.kill('SIGINT');
  await Promise.all(started.map((p) => p.exited));
  killSurvivors();
});

function summaryOf(stdout: string): { requests: number; errors: number; type: string } {
  const last = stdout.trim().split('\n').filter(Boolean).at(-1) ?? '{}';
  return JSON.parse(last) as { requests: number; errors: number; type: string };
}

describe('serve http --fail-rate', () => {
  it('100% fails every request with --fail-status, 0% none', async () => {
    const all = serve(['http', '--fail-rate', '100%', '--fail-status', '502']);
    const none = serve(['http', '--fail-rate', '0%']);
    const [allUrl, noneUrl] = await Promise.all(
      [all, none].map(async (p) => (await p.waitFor(/^(http:\/\/\S+)\n/))[1] ?? ''),
    );
    const failed = await runCli(['http', 'get', `${allUrl}/json`, '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 502 });
    const ok = await runCli(['http', 'get', `${noneUrl}/json`, '--json']);
    expect(ok.code).toBe(0);
  });

  it('30% and 0.3 mean the same: about three in ten requests fail', async () => {
    for (const rate of ['30%', '0.3']) {
      const p = serve(['http', '--fail-rate', rate]);
      const url = (await p.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
      const r = await runCli(['http', 'get', `${url}/json`, '-n', '200', '-c', '10', '--json']);
      const s = summaryOf(r.stdout);
      expect(s.type).toBe('summary');
      expect(s.requests).toBe(200);
      // Binomial(200, 0.3): mean 60, sd ~6.5; 20..110 is more than 6 sd either way.
      expect(s.errors).toBeGreaterThanOrEqual(20);
      expect(s.errors).toBeLessThanOrEqual(110);
    }
  }, 60_000);

  it.each([['150%'], ['2'], ['-0.1'], ['lots']])('--fail-rate %s is a usage error (exit 2)', async (rate) => {
    const r = await runCli(['serve', 'http', '--fail-rate', rate]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid --fail-rate '${rate}'`);
    expect(r.stdout).toBe('');
  });
});

describe('serve grpc --fail-rate', () => {
  it('100% fails every Inventory call with --fail-code; 30% is accepted', async () => {
    const all = serve(['grpc', '--fail-rate', '100%', '--fail-code', 'INTERNAL']);
    const some = serve(['grpc', '--fail-rate', '30%']);
    const [allAddr] = await Promise.all(
      [all, some].map(async (p) => (await p.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] ?? ''),
    );
    const r = await runCli([
      'grpc',
      'call',
      allAddr ?? '',
      'inventory.Inventory/GetItem',
      '-d',
      '{"sku":"A1"}',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ status: 'INTERNAL' });
  });

  it.each([['150%'], ['1.5']])('--fail-rate %s is a usage error (exit 2)', async (rate) => {
    const r = await runCli(['serve', 'grpc', '--fail-rate', rate]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid --fail-rate '${rate}'`);
  });
});
