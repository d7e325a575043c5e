import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** `comms-cli serve grpc` itself: its address line, Ctrl-C, and the fault headers it reads. */
let served: Awaited<ReturnType<typeof serveGrpc>>;
let addr: string;

beforeAll(async () => {
  served = await serveGrpc();
  addr = served.addr;
});

afterAll(async () => {
  await served?.stop();
  killSurvivors();
});

const GET = 'inventory.Inventory/GetItem';

describe('serve grpc', () => {
  it('prints host:port first on stdout and stops on Ctrl-C with exit 130', async () => {
    const p = startCli(['serve', 'grpc', '--port', '0', '--fail-rate', '1', '--fail-code', 'INTERNAL']);
    const other = (await p.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] as string;
    const r = await runCli(['grpc', 'call', other, GET, '-d', '{"sku":"A1"}', '--json']);
    expect(r.code).toBe(1);
    expect(ndjson(r.stdout)[0]).toMatchObject({ status: 'INTERNAL' });
    p.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
  });
});

describe('serve grpc: fault headers', () => {
  it('fault headers the server cannot read are answered INVALID_ARGUMENT naming them', async () => {
    const base = ['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}'];
    const fail = await runCli([...base, '-H', 'x-fail: BOGUS']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toContain("INVALID_ARGUMENT: invalid x-fail 'BOGUS'");
    const times = await runCli([...base, '-H', 'x-fail-times: abc']);
    expect(times.code).toBe(1);
    expect(times.stderr).toContain("invalid x-fail-times 'abc'");
  });

  it('x-stream-interval takes any duration', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      'inventory.Inventory/ListItems',
      '-d',
      '{"limit":2}',
      '-H',
      'x-stream-interval: 0.01s',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).filter((l) => l.type === 'message')).toHaveLength(2);
  });
});
