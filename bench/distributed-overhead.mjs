#!/usr/bin/env node
// Coordination overhead of `--workers 3` versus one local run of the same total, on one machine:
// a private nats-server, `comms-cli serve http` (no delay), three `comms-cli worker` processes.
//
//   node bench/distributed-overhead.mjs [--rounds 3] [-n 6000] [-c 30]
//
// Reports per round: wall time of the whole command, the measured phase (durationMs), req/s, p50/p99,
// and the fixed cost (wall - measured phase) of each mode. Alternates local and distributed runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/comms-cli.js', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const ROUNDS = Number(opt('--rounds', '3'));
const N = opt('-n', '6000');
const C = opt('-c', '30');

const children = [];
function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return { child, stderr: () => err };
}
const waitFor = (p, re) =>
  new Promise((resolve) => {
    const t = setInterval(() => {
      if (re.test(p.stderr())) {
        clearInterval(t);
        resolve();
      }
    }, 50);
  });
function run(args) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => {
      const s = JSON.parse(out.trim().split('\n').at(-1));
      resolve({ wallMs: performance.now() - t0, ...s });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bench-dist-'));
writeFileSync(join(dir, 's.conf'), `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n`);
const nats = start('/usr/sbin/nats-server', ['-c', join(dir, 's.conf')]);
await new Promise((r) => setTimeout(r, 500));
const ports = JSON.parse(readFileSync(join(dir, `nats-server_${nats.child.pid}.ports`), 'utf8'));
const natsUrl = ports.nats[0];
const serve = start(process.execPath, [CLI, 'serve', 'http', '--port', '0']);
await waitFor(serve, /http:\/\/127\.0\.0\.1:\d+/);
const url = /http:\/\/127\.0\.0\.1:\d+/.exec(serve.stderr())[0];
const workers = [1, 2, 3].map((i) =>
  start(process.execPath, [CLI, 'worker', '--server', natsUrl, '--name', `w${i}`]),
);
await Promise.all(workers.map((w) => waitFor(w, /waiting for plans/)));

const rows = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['local', 'workers']) {
    const extra = mode === 'workers' ? ['--workers', '3', '--workers-server', natsUrl] : [];
    const s = await run(['http', 'get', `${url}/`, '-n', N, '-c', C, '--json', ...extra]);
    rows.push({
      round: r + 1,
      mode,
      wallMs: Math.round(s.wallMs),
      phaseMs: Math.round(s.durationMs),
      rps: s.rps,
      p50: s.latency.p50,
      p99: s.latency.p99,
      fixedMs: Math.round(s.wallMs - s.durationMs),
    });
  }
}
for (const c of children) c.kill('SIGTERM');
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; -n ${N} -c ${C}`,
);
console.log('| round | mode | wall | measured phase | fixed cost | req/s | p50 | p99 |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.round} | ${r.mode} | ${r.wallMs} ms | ${r.phaseMs} ms | ${r.fixedMs} ms | ${r.rps} | ${r.p50} ms | ${r.p99} ms |`,
  );
