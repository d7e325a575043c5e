import { describe, expect, it } from 'vitest';
import { parseValues } from '../../src/command/option.js';
import { LOAD_OPTIONS, planFrom } from '../../src/load/options.js';
import { isAllowed, parseAllowList } from '../../src/worker/allow.js';
import { inlineGrpcSchema } from '../../src/worker/inline-schema.js';
import { refusal } from '../../src/worker/security.js';
import { scale, splitPlan } from '../../src/worker/split.js';
import { loggable } from '../../src/worker/worker.js';

const loopback = parseAllowList([]);

describe('worker plan rules', () => {
  it('runs load plans of call commands against loopback by default', () => {
    expect(refusal(['http', 'get', 'http://127.0.0.1:8080/', '-n', '100'], loopback)).toBeUndefined();
    expect(refusal(['http', 'get', 'http://localhost:8080/', '--duration', '5s'], loopback)).toBeUndefined();
    expect(refusal(['grpc', 'call', '[::1]:50051', 'svc.S/M', '-n', '5'], loopback)).toBeUndefined();
    expect(
      refusal(['nats', 'request', 'svc.echo', '-s', 'nats://127.0.0.1:4222', '-n', '5'], loopback),
    ).toBeUndefined();
  });

  it.each([
    [['serve', 'http', '--port', '1'], /not a call command/],
    [['nats', 'reply', 'x', '--exec', 'sh'], /not a call command/],
    [['http', 'get', 'http://127.0.0.1/'], /not a load plan/],
    [
      ['http', 'post', 'http://127.0.0.1/', '-n', '5', '-d', '@/etc/passwd'],
      /reads a local file \('@\/etc\/passwd'\)/,
    ],
    [['http', 'post', 'http://127.0.0.1/', '-n', '5', '--data=@secret'], /reads a local file/],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '-o', '/tmp/x'], /local file \(-o\)/],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '-o/tmp/x'], /local file \(-o\)/],
    [['grpc', 'call', '127.0.0.1:1', 'a.B/C', '-n', '5', '--proto', 'x.proto'], /local file \(--proto\)/],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '--key', 'k.pem'], /local file \(--key\)/],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '--exec', 'id'], /runs a program/],
    [['http', 'get', 'exec://id', '-n', '5'], /runs a program/],
    [['http', 'get', 'http://169.254.169.254/latest', '-n', '5'], /'169\.254\.169\.254' is outside/],
    [['http', 'get', 'http://example.com/', '-n', '5'], /'example\.com' is outside/],
    [['http', 'get', 'http://[::ffff:10.0.0.1]/', '-n', '5'], /outside/],
    [
      ['nats', 'request', 's', '-s', 'nats://127.0.0.1:4222,nats://10.0.0.9:4222', '-n', '5'],
      /'10\.0\.0\.9' is outside/,
    ],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '--workers', '2'], /does not coordinate/],
    [['http', 'get', 'http://127.0.0.1/', '-n', '5', '-L'], /follows redirects/],
    [['nats', 'publish', 'x', '-n', '5', '--context', 'prod'], /local file \(--context\)/],
    [['grpc', 'call', '10.0.0.1:50051', 'a.B/C', '-n', '5'], /'10\.0\.0\.1' is outside/],
    [['grpc', 'call', 'grpcs://example.com', 'a.B/C', '-n', '5'], /'example\.com' is outside/],
    [['grpc', 'call', 'example.com', 'a.B/C', '-n', '5'], /'example\.com' is outside/],
    [['grpc', 'call', 'unix:/run/x.sock', 'a.B/C', '-n', '5'], /local socket/],
    [['mqtt', 'request', 't', '--url', 'mqtt://10.0.0.1:1883', '-n', '5'], /'10\.0\.0\.1' is outside/],
    [['request', 's', '--server=nats://10.0.0.1:4222', '-n', '5'], /'10\.0\.0\.1' is outside/],
    [['mqtt', 'subscribe', 't', '-n', '5'], /not a call command/],
  ])('refuses %j', (argv, reason) => {
    expect(refusal(argv, loopback)).toMatch(reason);
  });

  it('takes the top-level aliases and the broker request commands; a broker plan without a URL needs loopback', () => {
    expect(refusal(['publish', 'x', '-n', '5'], loopback)).toBeUndefined();
    expect(refusal(['request', 'x', '-n', '5'], loopback)).toBeUndefined();
    expect(refusal(['amqp', 'request', 'q', '-n', '5'], loopback)).toBeUndefined();
    expect(refusal(['mqtt', 'request', 't', '-n', '5'], loopback)).toBeUndefined();
    const lan = parseAllowList(['10.0.0.0/8']);
    expect(refusal(['nats', 'publish', 'x', '-n', '5'], lan)).toMatch(
      /the default broker: the plan names none/,
    );
    expect(refusal(['nats', 'publish', 'x', '-s', 'nats://10.1.1.1:4222', '-n', '5'], lan)).toBeUndefined();
  });

  it('logs plans with secrets redacted', () => {
    const line = loggable([
      'nats',
      'request',
      'x',
      '--server=nats://u:hunter2@127.0.0.1:4222',
      '--password',
      'pw1',
      '-H',
      'Authorization: Bearer abc',
      '--url',
      'amqp://guest:pw2@127.0.0.1/',
    ]);
    for (const secret of ['hunter2', 'pw1', 'Bearer abc', 'pw2']) expect(line).not.toContain(secret);
    expect(line).toContain('nats://u:');
  });

  it('--allow-targets takes CIDRs, names and *.domain patterns', () => {
    const allow = parseAllowList(['10.0.0.0/8', '*.svc.cluster.local', 'api.internal']);
    expect(isAllowed('10.2.3.4', allow)).toBe(true);
    expect(isAllowed('11.0.0.1', allow)).toBe(false);
    expect(isAllowed('web.ns.svc.cluster.local', allow)).toBe(true);
    expect(isAllowed('svc.cluster.local.evil.com', allow)).toBe(false);
    expect(isAllowed('api.internal', allow)).toBe(true);
    expect(isAllowed('127.0.0.1', allow)).toBe(false);
    expect(() => parseAllowList(['10.0.0.0/99'])).toThrow(/bad prefix/);
  });
});

describe('splitting a plan (k6 execution segments)', () => {
  it('scales whole numbers so the shares add up to the total', () => {
    for (const total of [1, 7, 10, 100, 1001]) {
      for (const n of [1, 2, 3, 7]) {
        const shares = Array.from({ length: n }, (_, i) => scale(total, i, n));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('rewrites -n/-c/--rate per share, drops coordinator flags and gates, keeps the rest', () => {
    const argv = [
      'http',
      'get',
      'http://127.0.0.1/',
      '-n',
      '1000',
      '-c10',
      '--rate',
      '300',
      '--duration',
      '5s',
      '--workers',
      '3',
      '--workers-server',
      'nats://x:4222',
      '--expect-p99',
      '50ms',
      '--json',
      '--abort-on-fail',
      '-H',
      'A: b',
    ];
    const plan = planFrom(
      parseValues(LOAD_OPTIONS, { requests: '1000', concurrency: '10', rate: '300', duration: '5s' }),
    );
    const shares = splitPlan(argv, plan, 3);
    expect(shares.map((s) => s.segment)).toEqual(['0:1/3', '1/3:2/3', '2/3:1']);
    expect(shares.map((s) => s.requests)).toEqual([333, 333, 334]);
    expect(shares.map((s) => s.concurrency)).toEqual([3, 3, 4]);
    expect(shares.map((s) => s.rate)).toEqual([100, 100, 100]);
    expect(shares[0]?.argv).toEqual([
      'http',
      'get',
      'http://127.0.0.1/',
      '--duration',
      '5s',
      '-H',
      'A: b',
      '-n',
      '333',
      '-c',
      '3',
      '--rate',
      '100',
    ]);
  });

  it('broker commands: the coordinator env becomes flags (flags win); MQTT client ids differ per share', () => {
    const plan = planFrom(parseValues(LOAD_OPTIONS, { requests: '10' }));
    const env = { NATS_URL: 'nats://127.0.0.1:4222', NATS_TOKEN: 't0k', MQTT_URL: 'mqtt://127.0.0.1:1883' };
    const [nats] = splitPlan(['publish', 'x', '-n', '10'], plan, 2, env);
    expect(nats?.argv).toEqual([
      'publish',
      'x',
      '--server=nats://127.0.0.1:4222',
      '--token=t0k',
      '-n',
      '5',
      '-c',
      '5',
    ]);
    const [own] = splitPlan(['nats', 'publish', 'x', '-s', 'nats://h:1', '-n', '10'], plan, 2, env);
    expect(own?.argv).not.toContain('--server=nats://127.0.0.1:4222');
    const mqtt = splitPlan(['mqtt', 'publish', 't', '--client-id', 'me', '-n', '10'], plan, 2, env);
    expect(mqtt.map((s) => s.argv.slice(0, 6))).toEqual([
      ['mqtt', 'publish', 't', '--client-id', 'me-w1', '--url=mqtt://127.0.0.1:1883'],
      ['mqtt', 'publish', 't', '--client-id', 'me-w2', '--url=mqtt://127.0.0.1:1883'],
    ]);
  });

  it('gRPC schema flags are compiled on the coordinator into one FileDescriptorSet', async () => {
    const proto = new URL('../../proto/inventory.proto', import.meta.url).pathname;
    const out = await inlineGrpcSchema([
      'grpc',
      'call',
      '127.0.0.1:1',
      'inventory.Inventory/GetItem',
      '--proto',
      proto,
      '-n',
      '5',
    ]);
    expect(out.argv).toEqual(['grpc', 'call', '127.0.0.1:1', 'inventory.Inventory/GetItem', '-n', '5']);
    expect(Buffer.from(out.protoset ?? '', 'base64').length).toBeGreaterThan(100);
    const none = await inlineGrpcSchema(['http', 'get', 'http://127.0.0.1/', '--proto', 'x']);
    expect(none.protoset).toBeUndefined();
    await expect(
      inlineGrpcSchema(['grpc', 'call', 'h:1', 'a.B/C', '--protoset', '/nonexistent']),
    ).rejects.toThrow(/cannot read --protoset file/);
  });
});
