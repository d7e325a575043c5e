import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';
import { checkDir, events } from './kit.js';

let http: Awaited<ReturnType<typeof serveHttp>>;

beforeAll(async () => {
  http = await serveHttp();
}, 30_000);
afterAll(async () => {
  await http?.stop();
  killSurvivors();
});

// Breaker 3: the first step's two attempts (one retry) and the second step's one open it.
const opening = () => `vars: {api: ${http.url}}
defaults:
  http: {breaker: 3, breaker-cooldown: 60s, timeout: 10s}
checks:
  - name: opens
    steps:
      - http: {method: get, url: "{{api}}/status/503", retries: 1, backoff: 1ms}
        expect-exit: 1
      - http: {method: get, url: "{{api}}/status/503"}
        expect-exit: 1
`;

describe('check: one set of breakers per check, as on the command line', () => {
  it('failing steps open the breaker of their origin; a later step to it fails fast (exit 5); the next check starts closed', async () => {
    const dir = checkDir({
      'b.check.yaml': `${opening()}      - http: {method: get, url: "{{api}}/status/200"}
  - name: fresh breakers
    steps:
      - http: {method: get, url: "{{api}}/status/200"}
`,
    });
    const r = await runCli(['check', 'b.check.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(5);
    const ev = events(r.stdout);
    const steps = ev.filter((e) => e.type === 'step' && e.check === 'opens');
    // Retries behave as on the command line: both attempts of the first step are in its result.
    const first = steps[0]?.result as { attempts: Array<{ n: number; status?: number }> };
    expect(first.attempts.map((a) => [a.n, a.status])).toEqual([
      [1, 503],
      [2, 503],
    ]);
    expect(steps[2]).toMatchObject({ ok: false, exit: 5, result: { error: { kind: 'breaker' } } });
    // Nothing was sent by the step that failed fast.
    expect(steps[2]?.result).toMatchObject({ attempts: [{ n: 1, ok: false, ms: 0 }] });
    const checks = ev.filter((e) => e.type === 'check');
    expect(checks.map((c) => [c.name, c.ok, c.exit])).toEqual([
      ['opens', false, 5],
      ['fresh breakers', true, 0],
    ]);
    expect(r.stderr).toContain('circuit breaker is open');
  });

  it('an open breaker can be the expected outcome (expect-exit: 5)', async () => {
    const dir = checkDir({
      'b.check.yaml': `${opening()}      - http: {method: get, url: "{{api}}/status/200"}
        expect-exit: 5
        expect: {$.error.kind: breaker}
      - http: {method: get, url: "{{api}}/status/200", breaker-cooldown: 1ms}
        name: other settings, other breaker
`,
    });
    const r = await runCli(['check', 'b.check.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it('--breaker-state FILE keeps the breakers across checks and across runs', async () => {
    const dir = checkDir({
      'open.check.yaml': opening(),
      'later.check.yaml': `vars: {api: ${http.url}}
defaults:
  http: {breaker: 3, breaker-cooldown: 60s, timeout: 10s}
checks:
  - name: still open
    steps:
      - http: {method: get, url: "{{api}}/status/200"}
`,
    });
    const state = join(dir, 'breakers.json');
    const a = await runCli(['check', 'open.check.yaml', '--breaker-state', state], { cwd: dir });
    expect(a.code, a.stderr).toBe(0);
    expect(existsSync(state)).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')) as object)).toContain(http.url);
    const b = await runCli(['check', 'later.check.yaml', '--breaker-state', state], { cwd: dir });
    expect(b.code, b.stderr).toBe(5);
    expect(b.stderr).toContain('circuit breaker is open');
    // Without the file, the same check starts with a closed breaker.
    const c = await runCli(['check', 'later.check.yaml'], { cwd: dir });
    expect(c.code, c.stderr).toBe(0);
  });

  it('--breaker-state in a directory that does not exist: exit 2, nothing run', async () => {
    const dir = checkDir({
      'later.check.yaml': `checks:\n  - name: x\n    steps:\n      - http: {method: get, url: "${http.url}/status/200"}\n`,
    });
    const r = await runCli(
      ['check', 'later.check.yaml', '--breaker-state', join(dir, 'no/such/state.json')],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--breaker-state');
  });
});
