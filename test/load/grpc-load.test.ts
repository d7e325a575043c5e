import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

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

describe('grpc call in load mode', () => {
  it('load mode reports the bytes received', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}', '-n', '5', '--json']);
    expect(r.code).toBe(0);
    const summary = ndjson(r.stdout).find((l) => l.type === 'summary');
    expect(summary).toBeDefined();
    expect(JSON.stringify(summary)).toMatch(/"bytes":[1-9]/);
  });

  // Load mode decodes responses only when something reads them: --json-all and --expect-json still see them.
  it('--json-all lines carry each decoded response', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}', '-n', '3', '--json-all']);
    expect(r.code).toBe(0);
    const calls = ndjson(r.stdout).filter((l) => l.type !== 'summary');
    expect(calls).toHaveLength(3);
    for (const c of calls) expect((c as { data?: { sku?: string } }).data?.sku).toBe('A1');
  });

  it('--expect-json judges every response under load (a miss fails each call, exit 1)', async () => {
    const hold = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-n',
      '4',
      '--expect-json',
      '$.sku=A1',
      '--json',
    ]);
    expect(hold.code).toBe(0);
    expect(ndjson(hold.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 4, successes: 4 });
    const miss = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '-d',
      '{"sku":"A1"}',
      '-n',
      '4',
      '--expect-json',
      '$.sku=B2',
      '--json',
    ]);
    expect(miss.code).toBe(1);
    expect(ndjson(miss.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 4, errors: 4 });
  });
});
