#!/usr/bin/env node
// Issue 11's benchmark: a check file of 50 HTTP GET steps against a local server, side by side in
// one run with a shell loop of 50 `curl` calls and with 50 `comms-cli http get` processes. Rounds
// alternate the three, medians are reported as ratios to the curl loop (these machines are shared and
// noisy: absolute times mean little, ratios measured in the same minutes mean more).
//
//   node bench/check-vs-curl.mjs [--rounds 5] [--steps 50]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/comms-cli.js');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const ROUNDS = opt('rounds', 5);
const STEPS = opt('steps', 50);

function wall(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`));
      else resolve(performance.now() - t0);
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = spawn(process.execPath, [join(ROOT, 'bench/http-server.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve) =>
  server.stdout.setEncoding('utf8').once('data', (d) => resolve(d.trim())),
);
const dir = mkdtempSync(join(tmpdir(), 'comms-bench-check-'));
const file = join(dir, 'gets.check.yaml');
const steps = Array.from(
  { length: STEPS },
  () => `      - http: {method: get, url: "{{api}}", expect-status: 200}`,
).join('\n');
writeFileSync(file, `name: gets\nchecks:\n  - name: ${STEPS} GETs\n    steps:\n${steps}\n`);

const variants = {
  'check file': [process.execPath, [CLI, 'check', file, '--var', `api=${url}`, '-q']],
  'curl loop': [
    'bash',
    ['-c', `for i in $(seq ${STEPS}); do curl -sf -o /dev/null "${url}" || exit 1; done`],
  ],
  'comms-cli http loop': [
    'bash',
    [
      '-c',
      `for i in $(seq ${STEPS}); do "${process.execPath}" "${CLI}" http get "${url}" -q >/dev/null || exit 1; done`,
    ],
  ],
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
try {
  for (const [cmd, args] of Object.values(variants)) await wall(cmd, args); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, [cmd, args]] of Object.entries(variants)) times[name].push(await wall(cmd, args));
  }
} finally {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const curl = median(times['curl loop']);
process.stdout.write(
  `${STEPS} GETs, ${ROUNDS} alternating rounds, load average ${loadavg()[0].toFixed(1)}\n` +
    '| variant | median wall | ratio to the curl loop |\n| --- | --- | --- |\n' +
    Object.entries(times)
      .map(([k, v]) => `| ${k} | ${median(v).toFixed(0)} ms | ${(median(v) / curl).toFixed(2)}x |`)
      .join('\n') +
    '\n',
);
