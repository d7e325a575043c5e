import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedProcess, serveGrpc } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * `grpc call --format text`: requests and responses in the protobuf text format, as grpcurl's
 * `-format text` (messages separated by the ASCII record separator 0x1E, both ways).
 */
let server: ServedProcess & { addr: string };
let addr = '';
const tmp = mkdtempSync(join(tmpdir(), 'cc-txtpb-'));
beforeAll(async () => {
  server = await serveGrpc();
  addr = server.addr;
});
afterAll(async () => {
  await server?.stop();
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

const GET = 'inventory.Inventory/GetItem';
const RS = '\x1e';

describe('grpc call --format text', () => {
  it('unary: text request, text response (reflection and --proto alike)', async () => {
    for (const schema of [[], ['--proto', 'proto/inventory.proto']]) {
      const run = await runCli(['grpc', 'call', addr, GET, ...schema, '--format', 'text', '-d', 'sku: "A1"']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(
        [
          'sku: "A1"',
          'name: "Claw hammer"',
          'category: TOOLS',
          'quantity: 12',
          'price_cents: 1999',
          'tags: "steel"',
          'updated_at: {',
          '  seconds: 1735689600',
          '}',
          '',
        ].join('\n'),
      );
    }
  });

  it('server stream: each message in text, the ones after the first preceded by 0x1E', async () => {
    const run = await runCli([
      'grpc',
      'call',
      addr,
      'inventory.Inventory/ListItems',
      '--format',
      'text',
      '-d',
      'category: TOOLS limit: 2',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const messages = run.stdout.split(RS);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^sku: "A1"\n/);
    expect(messages[1]).toMatch(/^sku: "A2"\n/);
    for (const m of messages) expect(m).toContain('category: TOOLS\n');
    expect(run.stderr).toMatch(/2 messages/);
  });

  it('-d @ reads text from stdin; a client stream takes messages separated by 0x1E', async () => {
    const one = await runCli(['grpc', 'call', addr, GET, '--format', 'text', '-d', '@'], {
      input: '# a comment\nsku: "A2"\n',
    });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^sku: "A2"\nname: "Screwdriver set"\n/);

    const file = join(tmp, 'items.txtpb');
    writeFileSync(file, `sku: "T1" quantity: 3\n${RS}sku: "T2" quantity: 4 tags: ["x", "y"]\n`);
    const many = await runCli([
      'grpc',
      'call',
      addr,
      'inventory.Inventory/AddItems',
      '--format',
      'text',
      '-d',
      `@${file}`,
    ]);
    expect(many.code, many.stderr).toBe(0);
    expect(many.stdout).toBe('added: 2\ntotal_quantity: 7\nskus: "T1"\nskus: "T2"\n');
    expect(readFileSync(file, 'utf8')).toContain(RS);
  });

  it('a malformed text request is a one-line usage error (exit 2) and nothing is sent', async () => {
    const run = await runCli(['grpc', 'call', addr, GET, '--format', 'text', '-d', 'sku: "A1']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: -d \(--format text\): request: /);
    expect(run.stdout).toBe('');

    // A client stream whose second message is bad: every message is parsed before the call, so the
    // good first one never reaches the server (Z9 stays unknown).
    const stream = await runCli(
      ['grpc', 'call', addr, 'inventory.Inventory/AddItems', '--format', 'text', '-d', '@'],
      { input: `sku: "Z9" quantity: 5${RS}sku: 12 quantity: "x"` },
    );
    expect(stream.code).toBe(2);
    expect(stream.stderr).toMatch(/--format text\): request 2: /);
    const after = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"Z9"}']);
    expect(after.stderr).toMatch(/NOT_FOUND/);
  });

  it('an unknown field name is a usage error (exit 2) naming the field', async () => {
    const run = await runCli([
      'grpc',
      'call',
      '--proto',
      'proto/inventory.proto',
      addr,
      GET,
      '--format',
      'text',
      '-d',
      'nope: 1',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--format text.*unknown field "nope" for message inventory\.GetItemRequest/);
  });

  it('a unary call given several text messages is a usage error', async () => {
    const run = await runCli([
      'grpc',
      'call',
      addr,
      GET,
      '--format',
      'text',
      '-d',
      `sku: "A1"${RS}sku: "A2"`,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/a unary request takes one message, got 2/);
  });

  it('--json output stays JSON lines with --format text', async () => {
    const run = await runCli(['grpc', 'call', addr, GET, '--format', 'text', '-d', 'sku: "A1"', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const line = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(JSON.stringify(line)).toContain('Claw hammer');
  });

  it('--format json stays the default; an unknown format is a usage error', async () => {
    const json = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}']);
    expect(JSON.parse(json.stdout)).toMatchObject({ sku: 'A1' });
    const bad = await runCli(['grpc', 'call', addr, GET, '--format', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --format 'yaml': expected one of json, text/);
  });

  it('a plain grpc call does not load @bufbuild/protobuf; --format text does', async () => {
    const trace = (name: string) => {
      const file = join(tmp, name);
      writeFileSync(file, '');
      return {
        file,
        env: {
          NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
          COMMS_TRACE_FILE: file,
        },
      };
    };
    const plain = trace('plain.txt');
    const r1 = await runCli(['grpc', 'call', addr, GET, '-d', '{"sku":"A1"}'], { env: plain.env });
    expect(r1.code, r1.stderr).toBe(0);
    const loaded1 = readFileSync(plain.file, 'utf8');
    expect(loaded1).toMatch(/dist\/bundle\/main\.cjs/);
    expect(loaded1).not.toMatch(/@bufbuild/);

    const text = trace('text.txt');
    const r2 = await runCli(['grpc', 'call', addr, GET, '--format', 'text', '-d', 'sku: "A1"'], {
      env: text.env,
    });
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(text.file, 'utf8')).toMatch(/@bufbuild\/protobuf/);
  });
});
