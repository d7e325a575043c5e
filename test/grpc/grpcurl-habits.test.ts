import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { NOTES_DIR } from '../fixtures/grpc/notes-server.js';
import { type ServedProcess, serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * Habits people bring from grpcurl (issue 15): `-d @` for stdin, `-plaintext`, `describe` with no
 * symbol, `template` (grpcurl's -msg-template) and compound durations like `1m30s`.
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

describe('grpcurl habits', () => {
  it('-d @ reads the request from stdin', async () => {
    const run = await runCli(['grpc', 'call', addr, GET, '-d', '@'], { input: '{"sku":"A1"}\n' });
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ sku: 'A1', name: 'Claw hammer' });
  });

  it('-plaintext and --plaintext are accepted (plaintext is the default); with TLS they are a usage error', async () => {
    for (const spelling of ['-plaintext', '--plaintext']) {
      const run = await runCli(['grpc', 'call', spelling, addr, GET, '-d', '{"sku":"A1"}']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ sku: 'A1' });
    }
    const list = await runCli(['grpc', 'list', '-plaintext', addr]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('inventory.Inventory');

    const help = await runCli(['grpc', 'call', '--help']);
    expect(help.stdout).toMatch(/--plaintext\s+no TLS: already the default/);

    const both = await runCli(['grpc', 'call', '--plaintext', '--tls', addr, GET]);
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
    expect(both.stderr).toMatch(/--plaintext conflicts with TLS/);
  });

  it('describe with no symbol describes every service', async () => {
    const run = await runCli(['grpc', 'describe', addr]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^service Health \{/m);
    expect(run.stdout).toMatch(/^service Inventory \{/m);
    expect(run.stdout).toContain('rpc GetItem(.inventory.GetItemRequest) returns (.inventory.Item);');

    const json = await runCli(['grpc', 'describe', addr, '--json']);
    expect(json.code).toBe(0);
    const symbols = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).symbol);
    expect(symbols).toEqual(expect.arrayContaining(['grpc.health.v1.Health', 'inventory.Inventory']));
  });

  it('template prints a JSON skeleton of the request message (method, symbol form, message)', async () => {
    const run = await runCli(['grpc', 'template', addr, GET]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ sku: '' });

    const dotted = await runCli(['grpc', 'template', addr, 'inventory.Inventory.Reserve']);
    expect(dotted.code, dotted.stderr).toBe(0);
    expect(JSON.parse(dotted.stdout)).toEqual({ sku: '', quantity: 0 });

    // The skeleton is a valid request: feed it straight back to `grpc call`.
    const call = await runCli(['grpc', 'call', addr, GET, '-d', '@'], { input: run.stdout });
    expect([0, 1]).toContain(call.code);
    expect(call.stderr).not.toMatch(/invalid request|usage/i);

    // A richer schema from files: nested messages, enums, maps, well-known types, one oneof member.
    const notes = await runCli([
      'grpc',
      'template',
      addr,
      'acme.notes.v2.Notebook/CreateNote',
      '--proto',
      'notes.proto',
      '-I',
      NOTES_DIR,
    ]);
    expect(notes.code, notes.stderr).toBe(0);
    expect(JSON.parse(notes.stdout)).toEqual({
      title: '',
      body: '',
      author: { handle: '', userId: '0' },
      priority: 'PRIORITY_UNSPECIFIED',
      labels: { '': '' },
      extra: {},
      parentId: '0',
      isPublic: false,
    });

    const service = await runCli(['grpc', 'template', addr, 'inventory.Inventory']);
    expect(service.code).toBe(2);
    expect(service.stderr).toMatch(/is a service: expected a method or a message/);
  });

  it('durations such as 1m30s are accepted; a malformed compound is exit 2', async () => {
    const run = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}', '--timeout', '1m30s']);
    expect(run.code, run.stderr).toBe(0);
    const bad = await runCli(['grpc', 'call', addr, GET, '--timeout', '1s1m']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --timeout '1s1m'/);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('2s500ms')).toBe(2_500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('40')).toBe(40);
    for (const wrong of ['1m1m', 'm30s', '1m 30s', '30s1m', ''])
      expect(() => parseDuration(wrong, '--timeout')).toThrow(/invalid --timeout/);
  });
});
