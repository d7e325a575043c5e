import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedProcess, serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * The shared expectations on gRPC (issue: expectations on every transport): --expect-json over the
 * response (`$` is the message; for a server stream, the list of messages), --expect-header over the
 * response metadata (headers and trailers), --expect-status with names, numbers and lists.
 */
let server: ServedProcess & { addr: string };
let addr = '';
beforeAll(async () => {
  server = await serveGrpc();
  addr = server.addr;
});
afterAll(async () => {
  await server?.stop();
  killSurvivors();
});

const GET = 'inventory.Inventory/GetItem';
const LIST = 'inventory.Inventory/ListItems';
const A1 = ['-d', '{"sku":"A1"}'];

describe('grpc call expectations', () => {
  it('--expect-json equality, regex and comparisons hold on the response (int64 as its text)', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      ...A1,
      '--expect-json',
      '$.sku=A1',
      '--expect-json',
      '$.name=/hammer/',
      '--expect-json',
      '$.quantity>0',
      '--expect-json',
      '$.priceCents=1999',
      '--expect-json',
      '$.priceCents>=1999',
      '--expect-json',
      '$.tags.length>=1',
      '--expect-body',
      'Claw',
    ]);
    expect(r.stderr).toMatch(/OK/);
    expect(r.code).toBe(0);
  });

  it('a failed --expect-json is exit 1, one line naming the path, the expectation and the actual value', async () => {
    const r = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-json', '$.quantity>100']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Claw hammer');
    expect(r.stderr).toMatch(/expected \$\.quantity > 100, got 12/);
    const json = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-json', '$.sku=B2', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      exit: 1,
      status: 'OK',
      error: { kind: 'expectation', message: 'expected $.sku = B2, got "A1"' },
    });
  });

  it('--expect-header matches response metadata (headers and trailers)', async () => {
    const ok = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-header', 'x-server: comms-cli']);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-header', 'X-Server: /^other/']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expected header X-Server matching /^other/, got "comms-cli"');
    const absent = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-header', 'x-nope: 1']);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('expected header x-nope matching "1", but it is absent');
  });

  it('--expect-status takes names (any case), numbers and lists: NOT_FOUND expected is exit 0', async () => {
    const missing = ['-d', '{"sku":"NOPE"}'];
    for (const spec of ['NOT_FOUND', 'not_found', '5', 'OK,NOT_FOUND']) {
      const r = await runCli(['grpc', 'call', addr, GET, ...missing, '--expect-status', spec]);
      expect(r.code, `${spec}: ${r.stderr}`).toBe(0);
    }
    const wrong = await runCli(['grpc', 'call', addr, GET, ...A1, '--expect-status', 'NOT_FOUND', '--json']);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({
      ok: false,
      status: 'OK',
      error: { kind: 'expectation', message: 'expected status NOT_FOUND, got OK' },
    });
    const other = await runCli(['grpc', 'call', addr, GET, ...missing, '--expect-status', 'OK,ABORTED']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/expected status OK,ABORTED, got NOT_FOUND: item 'NOPE' not found/);
  });

  it('a server stream: $ is the list of messages; --expect-json judges it after the stream', async () => {
    const ok = await runCli([
      'grpc',
      'call',
      addr,
      LIST,
      '-d',
      '{}',
      '--expect-json',
      '$.length>=2',
      '--expect-json',
      '$[0].sku=A1',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('"sku": "A1"');
    const bad = await runCli(['grpc', 'call', addr, LIST, '-d', '{}', '--expect-json', '$.length>100']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/expected \$\.length > 100, got \d+/);
  });

  it('in load mode a failed expectation counts as an error per call', async () => {
    const r = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      ...A1,
      '-n',
      '5',
      '--expect-json',
      '$.sku=B2',
      '--json',
    ]);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary).toMatchObject({ type: 'summary', requests: 5, errors: 5 });
    expect(summary.errorKinds).toMatchObject({ expectation: 5 });
    expect(r.code).toBe(1);
  });
});

describe('grpc call: bad expectations exit 2 with one line, nothing sent', () => {
  it.each([
    [
      ['--expect-status', 'NOT_FOUNDD'],
      /^error: invalid --expect-status 'NOT_FOUNDD': not a gRPC status \(did you mean 'NOT_FOUND'\?\)$/,
    ],
    [['--expect-status', '99'], /invalid --expect-status '99'/],
    [['--expect-json', '$.a['], /invalid --expect-json '\$\.a\['/],
    [['--expect-json', '$.qty>many'], /invalid --expect-json '\$\.qty>many': > needs a number/],
    [['--expect-header', '/x/'], /--expect-header/],
  ])('%j', async (args, message) => {
    // Port 1: nothing listens, so exit 2 (not 3) proves nothing was tried.
    const r = await runCli(['grpc', 'call', '127.0.0.1:1', GET, ...args]);
    expect(r.code).toBe(2);
    // One line naming the flag and the value (and at most a hint line after it).
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1).every((l) => l.startsWith('hint: '))).toBe(true);
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});
