import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp } from '../kit/serve.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';
import { checkDir } from './kit.js';

let http: Awaited<ReturnType<typeof serveHttp>>;
beforeAll(async () => {
  http = await serveHttp();
}, 30_000);
afterAll(async () => {
  await http?.stop();
  killSurvivors();
});

// util-linux `script` gives the run a pseudo-terminal, as a person's shell would.
const hasScript = spawnSync('script', ['--version']).status === 0;

const file = () => `vars: {api: ${http.url}}
checks:
  - name: first
    steps:
      - http: {method: get, url: "{{api}}/status/200"}
  - name: second
    steps:
      - http: {method: get, url: "{{api}}/status/204"}
`;

function inTerminal(dir: string, args: string): { out: string; status: number | null } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI; // ora stays off under CI=true, as it should
  const r = spawnSync(
    'script',
    ['-qec', `stty cols 120 rows 40; ${process.execPath} ${CLI} check ${args}`, '/dev/null'],
    { cwd: dir, env, encoding: 'utf8', timeout: 60_000 },
  );
  return { out: r.stdout, status: r.status };
}

describe('check: the progress line', () => {
  it.runIf(hasScript)('on a terminal: a progress line naming the checks, then the result lines', () => {
    const dir = checkDir({ 'p.check.yaml': file() });
    const { out, status } = inTerminal(dir, 'p.check.yaml');
    expect(status, out).toBe(0);
    // The first frame reads 'starting' or '0/2 checks', depending on how soon the first check ends.
    expect(out).toMatch(/starting|0\/2 checks · /);
    expect(out).toMatch(/1\/2 checks · p › first done/);
    expect(out).toContain('✓ p › first');
    expect(out).toContain('2 passed');
  });

  it.runIf(hasScript)('on a terminal with -q or --json: no progress line', () => {
    const dir = checkDir({ 'p.check.yaml': file() });
    for (const flag of ['-q', '--json']) {
      const { out, status } = inTerminal(dir, `p.check.yaml ${flag}`);
      expect(status, out).toBe(0);
      expect(out).not.toMatch(/\d+\/2 checks/);
    }
  });

  it('not on a terminal (CI logs, pipes): no progress line, no escape codes', async () => {
    const dir = checkDir({ 'p.check.yaml': file() });
    const r = await runCli(['check', 'p.check.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/checks · /);
    expect(r.stderr).not.toContain('\u001b[');
  });
});
