import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { type ServedProcess, serveGrpc } from '../kit/serve.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';
import { expectRunMetrics, pushgateway } from './pushgateway.js';

/*
 * Every load command with --workers, end to end: a private nats-server as the pool's control plane,
 * two real `comms-cli worker` processes, real peers (comms-cli serve grpc, comms-cli nats reply,
 * comms-cli amqp reply, the machine's RabbitMQ and Mosquitto) and real subscribers counting what
 * arrived. One pool for the file (runs are sequential); unique names per run.
 */
const PROTO = fileURLToPath(new URL('../../proto/inventory.proto', import.meta.url));
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/';
const MQTT_URL = 'mqtt://127.0.0.1:1883';

interface Summary {
  type: string;
  requests: number;
  errors: number;
  exit: number;
  latency: { min: number; mean: number; p50: number; p90: number; p99: number; max: number };
  workers: { name: string; requests: number; errors: number }[];
  histogram: { count: number };
}

function summaryOf(stdout: string): Summary {
  const line = stdout.trim().split('\n').filter(Boolean).at(-1) ?? '{}';
  return JSON.parse(line) as Summary;
}

/** What every merged summary must satisfy: total = sum of the workers', one histogram, sane order. */
function expectMerged(s: Summary, requests: number, shares: number[]): void {
  expect(s.type).toBe('summary');
  expect(s.requests).toBe(requests);
  expect(s.errors).toBe(0);
  expect(s.workers.map((w) => w.requests)).toEqual(shares);
  expect(s.workers.reduce((a, w) => a + w.requests, 0)).toBe(s.requests);
  expect(s.histogram.count).toBe(s.requests);
  const l = s.latency;
  expect(l.min).toBeGreaterThan(0);
  expect(l.min).toBeLessThanOrEqual(l.p50);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.max);
}

const unique = (what: string) => `comms-w-${what}-${process.pid}-${randomBytes(3).toString('hex')}`;

describe('--workers with every call command', () => {
  let nats: NatsServer;
  let grpc: ServedProcess & { addr: string };
  let bare: ServedProcess & { addr: string };
  let workers: CliProcess[] = [];
  const prefix = `tt${process.pid}`;
  const pool = () => ['--workers', '2', '--workers-server', nats.url, '--workers-prefix', prefix, '--json'];

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    [grpc, bare] = await Promise.all([serveGrpc(), serveGrpc(['--no-reflection'])]);
    workers = [1, 2].map((i) =>
      startCli(['worker', '--server', nats.url, '--name', `w${i}`, '--prefix', prefix], {
        // Scrubbed by the worker: a plan without -s/--url must not follow these.
        env: { NATS_URL: 'nats://10.255.0.1:4222', MQTT_URL: 'mqtt://10.255.0.1:1883' },
      }),
    );
    await Promise.all(workers.map((w) => w.waitFor(/waiting for plans/, 'stderr', 30_000)));
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.kill('SIGINT');
    await Promise.all(workers.map((w) => w.exited));
    await Promise.all([grpc?.stop(), bare?.stop()]);
    killSurvivors();
    await nats?.stop();
  });

  it('grpc call (reflection): -n and -c split, totals merge', async () => {
    const run = await runCli(
      [
        'grpc',
        'call',
        grpc.addr,
        'inventory.Inventory/GetItem',
        '-d',
        '{"sku":"A1"}',
        '-n',
        '61',
        '-c',
        '3',
        ...pool(),
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    // --json hides the split line; each worker logs the share it runs.
    await workers[0]?.waitFor(/run \w+: grpc call .* -n 30 -c 1\n/, 'stderr');
    await workers[1]?.waitFor(/run \w+: grpc call .* -n 31 -c 2\n/, 'stderr');
    expectMerged(summaryOf(run.stdout), 61, [30, 31]);
  }, 90_000);

  it('grpc call --proto against a server without reflection: the coordinator ships the schema, workers read no file', async () => {
    const run = await runCli(
      [
        'grpc',
        'call',
        bare.addr,
        'inventory.Inventory/GetItem',
        '-d',
        '{"sku":"A1"}',
        '--proto',
        PROTO,
        '-n',
        '40',
        '-c',
        '2',
        ...pool(),
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expectMerged(summaryOf(run.stdout), 40, [20, 20]);
    // The plan a worker logged carries the shipped schema in its own temp folder, not the proto path.
    const plan = (await workers[0]?.waitFor(/run \w+: (grpc call .*--protoset \S+)/, 'stderr'))?.[1] ?? '';
    expect(plan).toMatch(/--protoset \S*comms-worker-\w+\/\w+\.protoset/);
    expect(plan).not.toContain('--proto ');
    expect(plan).not.toContain('inventory.proto');
  }, 90_000);

  it('nats request (alias `request`) against `comms-cli nats reply`, open loop: --rate split, -c cap held', async () => {
    const subject = unique('rpc');
    const rep = startCli(['nats', 'reply', subject, '-s', nats.url]);
    try {
      await rep.waitFor(/replying on/, 'stderr');
      // -c 2 over 2 workers: one call in flight each, at the cap most of the time.
      const run = await runCli(
        ['request', subject, 'ping', '-s', nats.url, '-n', '40', '--rate', '40', '-c', '2', ...pool()],
        { timeoutMs: 60_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      for (const w of workers) await w.waitFor(/run \w+: request .* -n 20 -c 1 --rate 20\n/, 'stderr');
      expectMerged(summaryOf(run.stdout), 40, [20, 20]);
    } finally {
      rep.kill('SIGINT');
      await rep.exited;
    }
  }, 90_000);

  it('--report prometheus:URL on a distributed run: the coordinator pushes the merged histogram once', async () => {
    const gw = await pushgateway();
    const subject = unique('prom');
    const rep = startCli(['nats', 'reply', subject, '-s', nats.url]);
    try {
      await rep.waitFor(/replying on/, 'stderr');
      const run = await runCli(
        [
          'nats',
          'request',
          subject,
          'x',
          '-s',
          nats.url,
          '-n',
          '60',
          '-c',
          '4',
          '--report',
          `prometheus:${gw.url}`,
          ...pool(),
        ],
        { timeoutMs: 60_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      const s = summaryOf(run.stdout);
      expectMerged(s, 60, [30, 30]);
      expect(gw.pushes).toHaveLength(1);
      expectRunMetrics(gw.pushes[0]?.body ?? '', s);
      expect(gw.pushes[0]?.body).toMatch(/^comms_load_workers\{transport="nats",.*\} 2$/m);
    } finally {
      rep.kill('SIGINT');
      await rep.exited;
      gw.server.close();
    }
  }, 90_000);

  it('nats publish: every published message arrives; the broker came from the coordinator env (NATS_URL)', async () => {
    const subject = unique('pub');
    const sub = startCli(['nats', 'subscribe', subject, '-s', nats.url, '--count', '50', '-v']);
    await sub.waitFor(/listening on/, 'stderr');
    const run = await runCli(['nats', 'publish', subject, 'm{{seq}}', '-n', '50', '-c', '4', ...pool()], {
      timeoutMs: 60_000,
      env: { NATS_URL: nats.url },
    });
    expect(run.code, run.stderr).toBe(0);
    expectMerged(summaryOf(run.stdout), 50, [25, 25]);
    expect((await sub.exited).code).toBe(0);
  }, 90_000);

  it('amqp publish and amqp request (against `comms-cli amqp reply`)', async () => {
    const q = unique('q');
    const rpc = unique('rpc');
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    const responder = startCli(['amqp', 'reply', rpc, '--declare', '--url', AMQP_URL]);
    try {
      const pub = await runCli(
        [
          'amqp',
          'publish',
          q,
          '--declare',
          '-d',
          'x{{seq}}',
          '--url',
          AMQP_URL,
          '-n',
          '30',
          '-c',
          '2',
          ...pool(),
        ],
        { timeoutMs: 60_000 },
      );
      expect(pub.code, pub.stderr).toBe(0);
      expectMerged(summaryOf(pub.stdout), 30, [15, 15]);
      expect((await ch.checkQueue(q)).messageCount).toBe(30);

      await responder.waitFor(/replying on queue/, 'stderr');
      const req = await runCli(
        ['amqp', 'request', rpc, '{"n":1}', '--url', AMQP_URL, '-n', '30', '-c', '2', ...pool()],
        { timeoutMs: 60_000 },
      );
      expect(req.code, req.stderr).toBe(0);
      expectMerged(summaryOf(req.stdout), 30, [15, 15]);
    } finally {
      responder.kill('SIGINT');
      await responder.exited;
      for (const name of [q, rpc]) await ch.deleteQueue(name).catch(() => undefined);
      await conn.close();
    }
  }, 90_000);

  it('mqtt publish (QoS 1): a --client-id gets one suffix per worker, every message arrives', async () => {
    const topic = `${unique('t')}/load`;
    const sub = startCli([
      'mqtt',
      'subscribe',
      topic,
      '--qos',
      '1',
      '--count',
      '40',
      '--url',
      MQTT_URL,
      '-v',
    ]);
    await sub.waitFor(/subscribed to/, 'stderr');
    const run = await runCli(
      [
        'mqtt',
        'publish',
        topic,
        '-d',
        'm{{seq}}',
        '--qos',
        '1',
        '--client-id',
        unique('cid'),
        '-n',
        '40',
        '-c',
        '2',
        ...pool(),
      ],
      // The coordinator's MQTT_URL becomes the plan's --url (the workers' own was scrubbed).
      { timeoutMs: 60_000, env: { MQTT_URL } },
    );
    expect(run.code, run.stderr).toBe(0);
    expectMerged(summaryOf(run.stdout), 40, [20, 20]);
    expect((await sub.exited).code).toBe(0);
    await workers[1]?.waitFor(/run \w+: mqtt publish .*--client-id comms-w-cid-\S+-w2/, 'stderr');
  }, 90_000);

  it('refusals for broker and gRPC plans: exit 2 with the reason, nothing run', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['nats', 'request', 'x', '-s', 'nats://10.1.2.3:4222', '-n', '10'],
        /target '10\.1\.2\.3' is outside this worker's --allow-targets/,
      ],
      [
        ['amqp', 'publish', 'q', '--url', 'amqp://guest:guest@10.1.2.3:5672/', '-n', '10'],
        /target '10\.1\.2\.3' is outside/,
      ],
      [
        [
          'grpc',
          'call',
          'unix:/tmp/comms-none.sock',
          'inventory.Inventory/GetItem',
          '--proto',
          PROTO,
          '-n',
          '10',
        ],
        /target 'unix:\/tmp\/comms-none\.sock' is a local socket/,
      ],
    ];
    for (const [args, re] of cases) {
      const run = await runCli([...args, ...pool()], { timeoutMs: 30_000 });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(re);
    }
  }, 90_000);
});
