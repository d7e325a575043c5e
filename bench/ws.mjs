#!/usr/bin/env node
// WebSocket benchmarks (run by `npm run bench` after bench/run.mjs): comms-cli against a minimal `ws`
// client (bench/ws-loop.mjs, the same client library) on one `comms-cli serve ws` process, alternating
// runs, medians of the rounds, reported as ratios.
//
//   node bench/ws.mjs [--rounds 3] [--quick] [--no-write]
//
// 1. echo round trips, -c 50 (200,000, then 50,000): `comms-cli ws URL/echo -m hello -n N -c 50` versus 50 connections each
//    sending its next message when the last reply arrives. Both rates are over the messages only
//    (connections opened before the clock starts, on both sides). Client CPU is user+sys of the
//    client process, read with bash's `times`.
// 2. /broadcast: messages/s received by `comms-cli ws URL/broadcast --count M` versus a minimal
//    receiver printing each message, while one publisher sends M messages as fast as the socket
//    drains. Timed from the publisher's start to the receiver's exit (receivers connected first).
//
// The section between the bench-ws markers of bench/RESULTS.md is replaced with the result.
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMsFromTimes, fmt, lastJson, median, procCpuMs, ratio, TIMES, writeBetween } from './lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/comms-cli.js');
const LOOP = join(ROOT, 'bench/ws-loop.mjs');
const NODE = process.execPath;
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const i = argv.indexOf('--rounds');
const ROUNDS = i >= 0 ? Number(argv[i + 1]) : QUICK ? 1 : 3;
// Echo runs at two sizes. 200,000 round trips (~2 s) measure steady throughput: the target's figure.
// 50,000 (~0.5 s) is mostly V8 warming up both clients' code, and is shown beside it.
const ECHO_N = QUICK ? 20_000 : 200_000;
const ECHO_SHORT_N = QUICK ? 5_000 : 50_000;
const BROADCAST_N = QUICK ? 10_000 : 100_000;
const CONC = 50;
const log = (s) => process.stderr.write(`${s}\n`);

/** Run to completion; wall time, and the child's user+sys CPU from bash `times`. */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', [...TIMES, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr, wallMs: performance.now() - t0, cpuMs: cpuMsFromTimes(stderr) });
    });
  });
}

/** Start a process; resolve once `re` shows on stdout or stderr. `done` resolves at its exit. */
function start(cmd, args, re, { cpu = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = cpu
      ? spawn('bash', [...TIMES, cmd, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready = false;
    const done = new Promise((r) =>
      child.on('close', (code) => {
        r({ code, at: performance.now(), cpuMs: cpuMsFromTimes(err), lines: out.split('\n').length - 1 });
      }),
    );
    const check = () => {
      if (!ready && re.test(out + err)) {
        ready = true;
        resolve({ child, line: (out.split('\n')[0] ?? '').trim(), done });
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d) => {
      if (!ready) out += d;
      else out += '\n'.repeat((d.match(/\n/g) ?? []).length);
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      check();
    });
    child.on('exit', (code) => {
      if (!ready) reject(new Error(`${args.join(' ')} exited (${code}) before it was ready: ${err}`));
    });
  });
}

/** The server both clients talk to (its CPU per message gauges how slow the machine was in a run). */
let serverPid;

/** Every client once per round, the order rotated each round; medians per client. */
async function alternate(clients) {
  const results = Object.fromEntries(clients.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < clients.length; k++) {
      const c = clients[(k + r) % clients.length];
      const res = await c.run();
      if (res) results[c.name].push(res);
      log(
        `  round ${r + 1}/${ROUNDS} ${c.name}: ${res ? `${fmt(res.rate)} msg/s, ${fmt(res.cpuUs, 1)} µs CPU/msg (server ${fmt(res.serverUs, 1)} µs)` : 'failed'}`,
      );
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([name, rs]) => [
      name,
      {
        rate: median(rs.map((x) => x.rate)),
        cpuUs: median(rs.map((x) => x.cpuUs)),
        serverUs: median(rs.map((x) => x.serverUs)),
        perServer: median(rs.map((x) => x.cpuUs / x.serverUs)),
        runs: rs.length,
      },
    ]),
  );
}

async function benchEcho(url, n) {
  log(`ws echo: ${fmt(n)} round trips, ${CONC} connections`);
  return alternate([
    {
      name: `comms-cli ws -n ${n} -c ${CONC}`,
      run: async () => {
        const before = procCpuMs(serverPid);
        const r = await run(NODE, [
          CLI,
          'ws',
          `${url}/echo`,
          '-m',
          'hello',
          '-n',
          String(n),
          '-c',
          String(CONC),
          '--json',
        ]);
        if (r.code !== 0) return undefined;
        const s = lastJson(r.stdout);
        const serverUs = ((procCpuMs(serverPid) - before) * 1000) / s.requests;
        return { rate: s.rps, cpuUs: (r.cpuMs * 1000) / s.requests, serverUs };
      },
    },
    {
      name: 'ws client loop (reference)',
      run: async () => {
        const before = procCpuMs(serverPid);
        const r = await run(NODE, [LOOP, 'echo', `${url}/echo`, String(n), String(CONC)]);
        if (r.code !== 0) return undefined;
        const s = lastJson(r.stdout);
        const serverUs = ((procCpuMs(serverPid) - before) * 1000) / s.requests;
        return { rate: s.rps, cpuUs: (r.cpuMs * 1000) / s.requests, serverUs };
      },
    },
  ]);
}

async function benchBroadcast(url) {
  log(`ws /broadcast: ${fmt(BROADCAST_N)} messages to one receiver`);
  const receive = async (cmd, args) => {
    const receiver = await start(cmd, args, /connected/);
    const t0 = performance.now();
    const pub = await run(NODE, [LOOP, 'publish', `${url}/broadcast`, String(BROADCAST_N - 1)]);
    const end = await receiver.done;
    if (pub.code !== 0 || end.code !== 0 || end.lines < BROADCAST_N) return undefined;
    return { rate: BROADCAST_N / ((end.at - t0) / 1000), cpuUs: (end.cpuMs * 1000) / BROADCAST_N };
  };
  return alternate([
    {
      name: `comms-cli ws /broadcast --count ${BROADCAST_N}`,
      run: () => receive(NODE, [CLI, 'ws', `${url}/broadcast`, '--count', String(BROADCAST_N)]),
    },
    {
      name: 'ws receiver (reference)',
      run: () => receive(NODE, [LOOP, 'receive', `${url}/broadcast`, String(BROADCAST_N)]),
    },
  ]);
}

const started = Date.now();
const env = `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at start ${loadavg()
  .map((x) => x.toFixed(2))
  .join(' ')}`;
log(`comms-cli ws bench: ${env}; rounds=${ROUNDS}${QUICK ? ' (quick)' : ''}`);
const server = await start(NODE, [CLI, 'serve', 'ws', '--port', '0'], /^ws:\/\//, { cpu: false });
const url = server.line;
serverPid = server.child.pid;
let echo;
let echoShort;
let broadcast;
try {
  echo = await benchEcho(url, ECHO_N);
  echoShort = await benchEcho(url, ECHO_SHORT_N);
  broadcast = await benchBroadcast(url);
} finally {
  server.child.kill('SIGINT');
  await server.done;
}
const [ce, re] = Object.values(echo);
const [cs, rs] = Object.values(echoShort);
const [cb, rb] = Object.values(broadcast);
const te = ratio(ce.rate, re.rate);
const tb = ratio(cb.rate, rb.rate);
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const table = (res) => [
  '| client | messages/s | client CPU per message |',
  '| --- | --- | --- |',
  ...Object.entries(res).map(([k, v]) => `| ${k} | ${fmt(v.rate)} | ${fmt(v.cpuUs, 1)} µs |`),
];
const echoTable = (res) => [
  '| client | messages/s | client CPU per message | server CPU per message (same server) | client CPU / server CPU |',
  '| --- | --- | --- | --- | --- |',
  ...Object.entries(res).map(
    ([k, v]) =>
      `| ${k} | ${fmt(v.rate)} | ${fmt(v.cpuUs, 1)} µs | ${fmt(v.serverUs, 1)} µs | ${fmt(v.perServer, 2)} |`,
  ),
];
const report = [
  `_Generated by \`node bench/ws.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${env}; ${ROUNDS} round(s)${QUICK ? ', --quick' : ''}; took ${minutes} min._`,
  '',
  `#### Echo round trips against \`comms-cli serve ws\`, ${CONC} connections, ${fmt(ECHO_N)} messages (median of ${ROUNDS}, alternating)`,
  '',
  ...echoTable(echo),
  '',
  `- throughput comms-cli / ws client loop: **${fmt(te, 2)}x** (target >= 0.9x: ${te >= 0.9 ? 'met' : '**missed**'})`,
  `- CPU per message comms-cli / ws client loop: ${fmt(ratio(ce.cpuUs, re.cpuUs), 2)}x; measured against the server's CPU in the same run (which does the same work for both, so this cancels the machine's load): ${fmt(ratio(ce.perServer, re.perServer), 2)}x`,
  '',
  `#### The same, ${fmt(ECHO_SHORT_N)} messages (~0.5 s a run: V8 still compiling both clients' code for much of it)`,
  '',
  ...echoTable(echoShort),
  '',
  `- throughput comms-cli / ws client loop: **${fmt(ratio(cs.rate, rs.rate), 2)}x**; CPU per message ${fmt(ratio(cs.cpuUs, rs.cpuUs), 2)}x`,
  '',
  `#### Messages received from \`/broadcast\`, ${fmt(BROADCAST_N)} messages (median of ${ROUNDS}, alternating)`,
  '',
  ...table(broadcast),
  '',
  `- receive rate comms-cli / ws receiver: **${fmt(tb, 2)}x**; CPU per message ${fmt(ratio(cb.cpuUs, rb.cpuUs), 2)}x`,
].join('\n');
process.stdout.write(`${report}\n`);

if (!argv.includes('--no-write')) {
  const BEGIN = '<!-- bench-ws:begin (generated by bench/ws.mjs; edit outside the markers) -->';
  const END = '<!-- bench-ws:end -->';
  writeBetween(
    join(ROOT, 'bench/RESULTS.md'),
    BEGIN,
    END,
    report,
    (text) => `${(text || '# Benchmarks\n').trimEnd()}\n\n## WebSocket\n\n${BEGIN}\n${report}\n${END}\n`,
  );
  log('wrote bench/RESULTS.md');
}
