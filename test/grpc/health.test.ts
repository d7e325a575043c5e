import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGrpcServer, startGrpcServer } from '../../src/servers/grpc/server.js';
import { ndjson } from '../kit/ndjson.js';
import { refusedAddress, type SilentPeer, silentPeer } from '../kit/peers.js';
import { serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Health checks (Check and Watch). */
let plain: RunningGrpcServer;
let silent: SilentPeer;
let silentAddr: string;

beforeAll(async () => {
  [plain, silent] = await Promise.all([startGrpcServer(), silentPeer()]);
  silentAddr = silent.addr;
});

afterAll(async () => {
  killSurvivors();
  await Promise.all([plain?.close(), silent?.close()]);
});

describe('grpc health', () => {
  it('SERVING exits 0; NOT_SERVING and SERVICE_UNKNOWN exit 1', async () => {
    const ok = await runCli(['grpc', 'health', plain.address]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('SERVING\n');
    plain.health.set('inventory.Inventory', 'NOT_SERVING');
    const down = await runCli(['grpc', 'health', plain.address, 'inventory.Inventory', '--json']);
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout)).toMatchObject({
      ok: false,
      exit: 1,
      servingStatus: 'NOT_SERVING',
      service: 'inventory.Inventory',
    });
    plain.health.set('inventory.Inventory', 'SERVING');
    const unknown = await runCli(['grpc', 'health', plain.address, 'no.Such']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('SERVICE_UNKNOWN\n');
  });

  it('unreachable exits 3, a peer that never answers exits 4', async () => {
    const refused = await runCli(['grpc', 'health', '127.0.0.1:1']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('ECONNREFUSED');
    const hung = await runCli(['grpc', 'health', silentAddr, '--timeout', '500ms']);
    expect(hung.code).toBe(4);
  });

  it('--json timing: firstByte <= total when the server answered; none, and no grpc-js text, when refused', async () => {
    const ok = await runCli(['grpc', 'health', plain.address, '--json']);
    expect(ok.code).toBe(0);
    const t = JSON.parse(ok.stdout).timing as { firstByte?: number; total: number };
    expect(t.firstByte).toBeGreaterThan(0);
    expect(t.firstByte).toBeLessThanOrEqual(t.total);

    const refused = await refusedAddress();
    const health = await runCli(['grpc', 'health', refused, '--json']);
    expect(health.code).toBe(3);
    const res = JSON.parse(health.stdout) as Record<string, unknown> & {
      timing: Record<string, number>;
      attempts: Array<{ timing?: Record<string, number> }>;
      error: { kind: string; message: string };
    };
    expect(res.timing).not.toHaveProperty('firstByte');
    expect(res.timing.total).toBeGreaterThanOrEqual(0);
    for (const a of res.attempts) expect(a.timing ?? {}).not.toHaveProperty('firstByte');
    expect(res).not.toHaveProperty('message');
    expect(health.stdout).not.toContain('No connection established');
    // The same clean error as `grpc call` to the same refused port.
    const call = await runCli([
      'grpc',
      'call',
      refused,
      'grpc.health.v1.Health/Check',
      '--proto',
      'proto/grpc/health/v1/health.proto',
      '--json',
    ]);
    expect(call.code).toBe(3);
    const callRes = JSON.parse(call.stdout) as { error: { kind: string; message: string }; timing: object };
    expect(callRes.timing).not.toHaveProperty('firstByte');
    expect(callRes).not.toHaveProperty('message');
    expect(res.error).toMatchObject({ kind: 'connect', message: callRes.error.message });
    expect(health.stderr).toBe(call.stderr);
  });

  it('--watch follows changes until Ctrl-C (exit 130)', async () => {
    const p = startCli(['grpc', 'health', plain.address, 'inventory.Inventory', '--watch', '--json']);
    await p.waitFor(/"status":"SERVING"/);
    plain.health.set('inventory.Inventory', 'NOT_SERVING');
    await p.waitFor(/"status":"NOT_SERVING"/);
    plain.health.set('inventory.Inventory', 'SERVING');
    await p.waitFor(/"status":"NOT_SERVING"[^\n]*\n[^\n]*"status":"SERVING"/);
    p.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
    const statuses = ndjson<{ status: string }>(p.stdout()).map((l) => l.status);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });

  it('--watch --count stops by itself', async () => {
    const r = await runCli(['grpc', 'health', plain.address, '--watch', '--count', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('SERVING\n');
  });

  it('--watch across a server shutdown exits 3 (lost connection)', async () => {
    const own = await serveGrpc();
    const watch = startCli(['grpc', 'health', own.addr, '--watch']);
    await watch.waitFor(/SERVING/);
    await own.stop();
    const { code } = await watch.exited;
    expect(code).toBe(3);
    expect(watch.stderr()).toContain('lost connection');
  }, 30_000);
});
