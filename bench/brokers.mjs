#!/usr/bin/env node
// Part of `npm run bench`: comms-cli's AMQP and MQTT commands against minimal amqplib / mqtt.js
// scripts (bench/broker-loop.mjs) on the machine's RabbitMQ (127.0.0.1:5672) and Mosquitto
// (127.0.0.1:1883), side by side in one run, alternating, medians of the rounds, reported as ratios.
//
//   node bench/brokers.mjs [--rounds 3] [--quick] [--no-write]
//
// Every comparison is whole-process for both sides (start-up included), client CPU from bash `times`.
// The generated table replaces the part of bench/RESULTS.md between the bench-brokers markers.
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuMsFromTimes,
  fmt,
  lastJson,
  median,
  procCpuMs,
  ratio,
  TIMES,
  verdict,
  writeBetween,
} from './lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/comms-cli.js');
const LOOP = join(ROOT, 'bench/broker-loop.mjs');
const NODE = process.execPath;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const QUICK = argv.includes('--quick');
const ROUNDS = Number(opt('rounds', QUICK ? '1' : '3'));
const SCALE = QUICK ? 0.1 : 1;
const PUB_N = Math.round(20_000 * SCALE);
const REQ_N = Math.round(5_000 * SCALE);
const CONC = 50;
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/';
const MQTT_URL = 'mqtt://127.0.0.1:1883';
const RUN = `bench-${process.pid}-${Date.now().toString(36)}`;
const log = (s) => process.stderr.write(`${s}\n`);

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
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      const cpuMs = cpuMsFromTimes(stderr);
      if (code !== 0) log(`  ${cmd} ${args.slice(0, 4).join(' ')} exited ${code}: ${stderr.slice(0, 300)}`);
      resolve({ code, stdout, stderr, wallMs, cpuMs });
    });
  });
}

/** Start a responder; resolve once `ready` matches its stdout or stderr. */
function start(cmd, args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start: ${seen}`));
    }, 30_000);
    const on = (d) => {
      seen += d;
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    // Responders print every request; only the readiness line matters, the rest is drained.
    child.stdout.setEncoding('utf8').on('data', (d) => seen.length < 10_000 && on(d));
    child.stderr.setEncoding('utf8').on('data', (d) => seen.length < 10_000 && on(d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code}) before it was ready: ${seen}`));
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const answers = (port) =>
  new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

/**
 * One measurement: whole-process rate (the loop scripts are timed the same way) and CPU per message
 * of the client (bash `times`) and, for request/reply, of the long-running responder (its /proc CPU
 * before and after the run: the responder is idle between runs).
 */
async function measure(runIt, n, responder) {
  const before = responder ? procCpuMs(responder.pid) : Number.NaN;
  const res = await runIt();
  if (res.code !== 0) return undefined;
  const clientUs = (res.cpuMs * 1000) / n;
  const responderUs = responder ? ((procCpuMs(responder.pid) - before) * 1000) / n : Number.NaN;
  return {
    rps: n / (res.wallMs / 1000),
    inProcessRps: lastJson(res.stdout).rps,
    cpuUsPerReq: clientUs,
    responderUsPerReq: responderUs,
    bothUsPerReq: responder ? clientUs + responderUs : clientUs,
  };
}

/** Every client once per round, the order rotating, medians over the rounds. */
async function alternate(clients) {
  const results = Object.fromEntries(clients.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < clients.length; i++) {
      const c = clients[(i + r) % clients.length];
      const res = await c.run();
      if (res) results[c.name].push(res);
      log(
        `  round ${r + 1}/${ROUNDS} ${c.name}: ${res ? `${fmt(res.rps)} msgs/s, ${fmt(res.cpuUsPerReq, 1)} µs client CPU/msg${Number.isFinite(res.responderUsPerReq) ? ` + ${fmt(res.responderUsPerReq, 1)} µs responder` : ''}` : 'failed'}`,
      );
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([name, rs]) => [
      name,
      {
        rps: median(rs.map((x) => x.rps)),
        inProcessRps: median(rs.map((x) => x.inProcessRps)),
        cpuUsPerReq: median(rs.map((x) => x.cpuUsPerReq)),
        responderUsPerReq: median(rs.map((x) => x.responderUsPerReq)),
        bothUsPerReq: median(rs.map((x) => x.bothUsPerReq)),
        runs: rs.length,
      },
    ]),
  );
}

const sections = [];

function table(title, rows, pairs) {
  sections.push(
    [
      title,
      '',
      '| client | msgs/s (whole process) | in-process msgs/s | client CPU per message | responder CPU per message | CPU per message, both |',
      '| --- | --- | --- | --- | --- | --- |',
      ...Object.entries(rows).map(
        ([k, v]) =>
          `| ${k} | ${fmt(v.rps)} | ${fmt(v.inProcessRps)} | ${fmt(v.cpuUsPerReq, 1)} µs | ${Number.isFinite(v.responderUsPerReq) ? `${fmt(v.responderUsPerReq, 1)} µs` : '-'} | ${fmt(v.bothUsPerReq, 1)} µs |`,
      ),
      '',
      ...pairs.map(([label, a, b]) => {
        const r = ratio(rows[a]?.rps, rows[b]?.rps);
        // CPU: the library's over ours, so that like the throughput ratio, >= 1 means as cheap or cheaper.
        const c = ratio(rows[b]?.bothUsPerReq, rows[a]?.bothUsPerReq);
        const client = ratio(rows[b]?.cpuUsPerReq, rows[a]?.cpuUsPerReq);
        const cpu = Number.isFinite(rows[a]?.responderUsPerReq)
          ? `CPU efficiency (library CPU per message / ours, requester + responder) ${fmt(c, 2)}x, requester alone ${fmt(client, 2)}x`
          : `CPU efficiency (library CPU per message / ours) ${fmt(c, 2)}x`;
        return `- ${label}: throughput **${fmt(r, 2)}x** (target >= 0.9x: ${verdict(r >= 0.9)}); ${cpu}`;
      }),
    ].join('\n'),
  );
}

async function benchAmqp() {
  if (!(await answers(5672))) {
    sections.push('### AMQP\n\nskipped: RabbitMQ does not answer on 127.0.0.1:5672.');
    return undefined;
  }
  const amqp = (await import('amqplib')).default;
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const pubQ = `${RUN}.pub`;
  const cliQ = `${RUN}.rpc-cli`;
  const libQ = `${RUN}.rpc-lib`;
  // Bounded: published messages must not pile up in the broker across rounds.
  await ch.assertQueue(pubQ, { durable: false, arguments: { 'x-max-length': 1000 } });
  await ch.assertQueue(cliQ, { durable: false });
  await ch.assertQueue(libQ, { durable: false });
  let cliResponder;
  let libResponder;
  try {
    log(`amqp: publish ${fmt(PUB_N)} with confirms; request ${fmt(REQ_N)}, ${CONC} in flight`);
    const pub = await alternate([
      {
        name: 'comms-cli amqp publish (confirms)',
        run: async () =>
          measure(
            () =>
              run(NODE, [
                CLI,
                'amqp',
                'publish',
                pubQ,
                'hello',
                '--count',
                String(PUB_N),
                '--url',
                AMQP_URL,
                '-q',
              ]),
            PUB_N,
          ),
      },
      {
        name: 'amqplib confirm-channel loop',
        run: async () =>
          measure(() => run(NODE, [LOOP, 'amqp-publish', AMQP_URL, pubQ, String(PUB_N)]), PUB_N),
      },
    ]);
    cliResponder = await start(
      NODE,
      [CLI, 'amqp', 'reply', cliQ, '--url', AMQP_URL, '--prefetch', String(CONC), '--raw'],
      /replying on/,
    );
    libResponder = await start(NODE, [LOOP, 'amqp-reply', AMQP_URL, libQ, String(CONC)], /ready/);
    const req = await alternate([
      {
        name: 'comms-cli amqp request → comms-cli amqp reply',
        run: async () =>
          measure(
            () =>
              run(NODE, [
                CLI,
                'amqp',
                'request',
                cliQ,
                'hello',
                '-n',
                String(REQ_N),
                '-c',
                String(CONC),
                '--url',
                AMQP_URL,
                '--json',
              ]),
            REQ_N,
            cliResponder,
          ),
      },
      {
        name: 'amqplib request loop → amqplib responder',
        run: async () =>
          measure(
            () => run(NODE, [LOOP, 'amqp-request', AMQP_URL, libQ, String(REQ_N), String(CONC)]),
            REQ_N,
            libResponder,
          ),
      },
    ]);
    table(`### AMQP: RabbitMQ on 127.0.0.1:5672 (median of ${ROUNDS}, alternating)`, { ...pub, ...req }, [
      [
        `publish ${fmt(PUB_N)} with publisher confirms`,
        'comms-cli amqp publish (confirms)',
        'amqplib confirm-channel loop',
      ],
      [
        `request/reply ${fmt(REQ_N)}, ${CONC} in flight (requester and responder both comms-cli vs both amqplib)`,
        'comms-cli amqp request → comms-cli amqp reply',
        'amqplib request loop → amqplib responder',
      ],
    ]);
    return { pub, req };
  } finally {
    await stop(cliResponder);
    await stop(libResponder);
    for (const q of [pubQ, cliQ, libQ]) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  }
}

async function benchMqtt() {
  if (!(await answers(1883))) {
    sections.push('### MQTT\n\nskipped: Mosquitto does not answer on 127.0.0.1:1883.');
    return undefined;
  }
  const pubT = `${RUN}/pub`;
  const cliT = `${RUN}/rpc-cli`;
  const libT = `${RUN}/rpc-lib`;
  let cliResponder;
  let libResponder;
  try {
    log(`mqtt: publish ${fmt(PUB_N)} at QoS 1; request ${fmt(REQ_N)}, ${CONC} in flight`);
    const pub = await alternate([
      {
        name: 'comms-cli mqtt publish --qos 1',
        run: async () =>
          measure(
            () =>
              run(NODE, [
                CLI,
                'mqtt',
                'publish',
                pubT,
                'hello',
                '--qos',
                '1',
                '--count',
                String(PUB_N),
                '--url',
                MQTT_URL,
                '-q',
              ]),
            PUB_N,
          ),
      },
      {
        name: 'mqtt.js QoS 1 loop',
        run: async () =>
          measure(() => run(NODE, [LOOP, 'mqtt-publish', MQTT_URL, pubT, String(PUB_N)]), PUB_N),
      },
    ]);
    cliResponder = await start(NODE, [CLI, 'mqtt', 'reply', cliT, '--url', MQTT_URL, '--raw'], /replying on/);
    libResponder = await start(NODE, [LOOP, 'mqtt-reply', MQTT_URL, libT], /ready/);
    const req = await alternate([
      {
        name: 'comms-cli mqtt request → comms-cli mqtt reply',
        run: async () =>
          measure(
            () =>
              run(NODE, [
                CLI,
                'mqtt',
                'request',
                cliT,
                'hello',
                '-n',
                String(REQ_N),
                '-c',
                String(CONC),
                '--url',
                MQTT_URL,
                '--json',
              ]),
            REQ_N,
            cliResponder,
          ),
      },
      {
        name: 'mqtt.js request loop → mqtt.js responder',
        run: async () =>
          measure(
            () => run(NODE, [LOOP, 'mqtt-request', MQTT_URL, libT, String(REQ_N), String(CONC)]),
            REQ_N,
            libResponder,
          ),
      },
    ]);
    table(`### MQTT: Mosquitto on 127.0.0.1:1883 (median of ${ROUNDS}, alternating)`, { ...pub, ...req }, [
      [
        `publish ${fmt(PUB_N)} at QoS 1 (every PUBACK awaited)`,
        'comms-cli mqtt publish --qos 1',
        'mqtt.js QoS 1 loop',
      ],
      [
        `request/reply ${fmt(REQ_N)}, ${CONC} in flight, QoS 0 (requester and responder both comms-cli vs both mqtt.js)`,
        'comms-cli mqtt request → comms-cli mqtt reply',
        'mqtt.js request loop → mqtt.js responder',
      ],
    ]);
    return { pub, req };
  } finally {
    await stop(cliResponder);
    await stop(libResponder);
  }
}

const started = Date.now();
const env = `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at start ${loadavg()
  .map((x) => x.toFixed(2))
  .join(' ')}`;
log(`comms-cli broker bench: ${env}; rounds=${ROUNDS}${QUICK ? ' (quick)' : ''}`);
const results = {};
for (const [name, fn] of [
  ['amqp', benchAmqp],
  ['mqtt', benchMqtt],
]) {
  try {
    results[name] = await fn();
  } catch (err) {
    sections.push(`### ${name}\n\nfailed: ${err.message}`);
    log(`${name} failed: ${err.stack}`);
  }
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const report = [
  `_Generated by \`node bench/brokers.mjs\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}: ${env}; ${ROUNDS} round(s)${QUICK ? ', --quick' : ''}; took ${minutes} min._`,
  '',
  ...sections.flatMap((s) => [s, '']),
].join('\n');
process.stdout.write(`${report}\n`);
if (!argv.includes('--no-write') && !QUICK) {
  const begin = '<!-- bench-brokers:begin (generated by bench/brokers.mjs; edit outside the markers) -->';
  const end = '<!-- bench-brokers:end -->';
  if (!writeBetween(join(ROOT, 'bench/RESULTS.md'), begin, end, report))
    log('bench/RESULTS.md has no bench-brokers markers: table not written');
}
