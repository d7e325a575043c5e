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
});
