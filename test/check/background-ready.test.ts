import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';
import { checkDir, events } from './kit.js';

let nats: NatsServer;
let grpc: Awaited<ReturnType<typeof serveGrpc>>;

beforeAll(async () => {
  [nats, grpc] = await Promise.all([startNatsServer({ jetstream: true }), serveGrpc()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([nats?.stop(), grpc?.stop()]);
  killSurvivors();
});

const ROWS = 12;
const rows = Array.from({ length: ROWS }, (_, i) => `{i: ${i + 1}}`).join(', ');
const run = `r${process.pid}x${Date.now().toString(36)}`;

/** Every background step of the run was released by its command's ready signal, not a guess. */
function expectSignalled(stdout: string): void {
  const bg = events(stdout).filter((e) => e.type === 'step' && e.background === true);
  expect(bg.length).toBeGreaterThan(0);
  for (const e of bg) expect(e.result).toEqual({ background: true, ready: true });
}

describe('check: a background step goes on once its command really listens', () => {
  it('NATS core and JetStream (deliver new): act right after the background step never misses, row after row', async () => {
    const dir = checkDir({
      'ready.check.yaml': `vars: {bus: ${nats.url}, run: ${run}}
defaults:
  nats: {server: "{{bus}}"}
checks:
  - name: core
    each: [${rows}]
    steps:
      - id: a
        nats.subscribe: {subject: "{{run}}.core.{{i}}.a"}
        background: true
      - nats.publish: {subject: "{{run}}.core.{{i}}.a", payload: {n: "{{i}}"}}
      - await: a
        within: 20s
      - id: b
        nats.subscribe: {subject: "{{run}}.core.{{i}}.b"}
        background: true
      - nats.publish: {subject: "{{run}}.core.{{i}}.b", payload: {n: "{{i}}"}}
      - await: b
        within: 20s
  - name: jetstream
    each: [${rows}]
    steps:
      # the stream exists (with an old message that deliver new must skip)
      - nats.publish: {subject: "{{run}}.js.{{i}}", payload: {old: true}, jetstream: true, stream: "{{run}}_{{i}}"}
      - id: js
        nats.subscribe: {subject: "{{run}}.js.{{i}}", jetstream: true, stream: "{{run}}_{{i}}", deliver: new}
        background: true
      - nats.publish: {subject: "{{run}}.js.{{i}}", payload: {n: "{{i}}"}, jetstream: true}
      - await: js
        within: 20s
        expect: {$.data.n: "{{i}}"}
`,
    });
    const r = await runCli(['check', 'ready.check.yaml', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const checks = events(r.stdout).filter((e) => e.type === 'check');
    expect(checks).toHaveLength(ROWS * 2);
    expect(checks.every((c) => c.ok === true)).toBe(true);
    expectSignalled(r.stdout);
  }, 150_000);

  it('events tail (file store): an append right after the background step is always seen', async () => {
    const store = mkdtempSync(join(tmpdir(), 'check-ready-events-'));
    const dir = checkDir({
      'tail.check.yaml': `vars: {store: ${store}}
defaults:
  events: {store: "{{store}}"}
checks:
  - name: tail
    each: [${rows}]
    steps:
      - events.append: {aggregate: "other", type: Created}   # the store exists
      - id: t
        events.tail: {aggregate: "order-{{i}}"}
        background: true
      - events.append: {aggregate: "order-{{i}}", type: Paid, data: {n: "{{i}}"}}
      - await: t
        within: 20s
        expect: {$.data.data.n: "{{i}}"}   # tail prints the message shape: the event is $.data
`,
    });
    const r = await runCli(['check', 'tail.check.yaml', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(events(r.stdout).filter((e) => e.type === 'check' && e.ok === true)).toHaveLength(ROWS);
    expectSignalled(r.stdout);
  }, 150_000);

  it('a gRPC server stream is ready when the server answered with its headers', async () => {
    const dir = checkDir({
      'grpc.check.yaml': `vars: {grpc: ${grpc.addr}}
checks:
  - name: stream
    steps:
      - id: items
        grpc.call: {target: "{{grpc}}", method: inventory.Inventory/ListItems, data: {limit: 2}, header: {x-stream-interval: 50ms}}
        background: true
      - await: items
        count: 2
        within: 20s
`,
    });
    const r = await runCli(['check', 'grpc.check.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expectSignalled(r.stdout);
  });
});
