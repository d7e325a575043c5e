import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTES_DIR, NOTES_PROTO, type NotesServer, startNotesServer } from '../fixtures/grpc/notes-server.js';
import { ndjson } from '../kit/ndjson.js';
import { refusedAddress } from '../kit/peers.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/**
 * The CLI against a server it has never seen (test/fixtures/grpc/notes.proto, served by plain
 * @grpc/grpc-js): schema from reflection v1, the v1alpha fallback, --proto with -I, and --protoset.
 */
let both: NotesServer;
let alphaOnly: NotesServer;
let none: NotesServer;
let tmp: string;
let protoset: string;
/** A port nobody listens on: describe with --proto must not need the server. */
let refused: string;

const PROTO_ARGS = ['--proto', 'notes.proto', '-I', NOTES_DIR];
const CREATE = 'acme.notes.v2.Notebook/CreateNote';

/** A FileDescriptorSet as `protoc --include_imports --descriptor_set_out` writes it (field 1, repeated). */
function fileDescriptorSet(files: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    let len = f.length;
    const varint: number[] = [];
    do {
      varint.push((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
      len >>>= 7;
    } while (len > 0);
    parts.push(Buffer.from([0x0a, ...varint]), f);
  }
  return Buffer.concat(parts);
}

beforeAll(async () => {
  [both, alphaOnly, none, refused] = await Promise.all([
    startNotesServer('both'),
    startNotesServer('v1alpha'),
    startNotesServer('none'),
    refusedAddress(),
  ]);
  tmp = await mkdtemp(join(tmpdir(), 'comms-grpc-schema-'));
  const def = protoLoader.loadSync(NOTES_PROTO, { includeDirs: [NOTES_DIR] });
  const first = Object.values(def).find((d) => 'fileDescriptorProtos' in d) as {
    fileDescriptorProtos: Buffer[];
  };
  protoset = join(tmp, 'notes.protoset');
  await writeFile(protoset, fileDescriptorSet(first.fileDescriptorProtos));
});

afterAll(async () => {
  killSurvivors();
  await Promise.all([both?.close(), alphaOnly?.close(), none?.close()]);
  await rm(tmp, { recursive: true, force: true });
});

const REQUEST = JSON.stringify({
  title: 'hello',
  body: Buffer.from('note body').toString('base64'),
  author: { handle: 'ada', userId: '18446744073709551615' },
  priority: 'HIGH',
  labels: { team: 'core' },
  extra: { nested: { ok: true }, list: [1, 'two', null] },
});

const EXPECTED = {
  id: '9007199254740993',
  title: 'hello',
  body: Buffer.from('note body').toString('base64'),
  author: { handle: 'ada', userId: '18446744073709551615' },
  priority: 'HIGH',
  labels: { team: 'core' },
  extra: { nested: { ok: true }, list: [1, 'two', null] },
  score: 0.5,
};

describe('schema sources', () => {
  it('reflection v1: unary call with nested messages, maps, bytes, uint64/int64, Struct', async () => {
    const r = await runCli(['grpc', 'call', both.address, CREATE, '-d', REQUEST, '--json', '-v']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.data).toEqual(EXPECTED);
    expect(res.headers).toMatchObject({ 'x-note-server': 'acme' });
    expect(r.stderr).toContain('schema: reflection (grpc.reflection.v1)');
  });

  it('falls back to reflection v1alpha', async () => {
    const r = await runCli(['grpc', 'call', alphaOnly.address, CREATE, '-d', '{"title":"a"}', '-v']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ title: 'a', score: 0.5 });
    expect(r.stderr).toContain('schema: reflection (grpc.reflection.v1alpha)');
    const list = await runCli(['grpc', 'list', alphaOnly.address]);
    expect(list.stdout.split('\n')).toContain('acme.notes.v2.Notebook');
  });

  it('no reflection: exit 2, says so and suggests --proto', async () => {
    const r = await runCli(['grpc', 'call', none.address, CREATE, '-d', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not offer reflection');
    expect(r.stderr).toContain('--proto FILE');
  });

  it('--proto with -I for its imports works where reflection is off', async () => {
    const r = await runCli(['grpc', 'call', none.address, CREATE, ...PROTO_ARGS, '-d', REQUEST]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).id).toMatch(/^\d+$/);
  });

  it('--protoset works where reflection is off', async () => {
    const r = await runCli([
      'grpc',
      'call',
      none.address,
      CREATE,
      '--protoset',
      protoset,
      '-d',
      REQUEST,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).data).toMatchObject({
      title: 'hello',
      author: { userId: '18446744073709551615' },
    });
  });

  it('a missing import is exit 2 naming the import and -I', async () => {
    // notes.proto copied away from its import root: like protoc, the import must be found via -I.
    const lonely = join(tmp, 'notes.proto');
    await writeFile(lonely, await readFile(NOTES_PROTO));
    const r = await runCli(['grpc', 'call', none.address, CREATE, '--proto', lonely, '-d', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("import 'acme/common/types.proto' not found");
    expect(r.stderr).toContain('-I/--import-path');
  });
});

describe('every call kind on the unseen schema', () => {
  it('server streaming', async () => {
    const r = await runCli([
      'grpc',
      'call',
      none.address,
      'acme.notes.v2.Notebook/Tail',
      ...PROTO_ARGS,
      '-d',
      '{"count":3}',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/"title": "note \d"/g)).toEqual([
      '"title": "note 1"',
      '"title": "note 2"',
      '"title": "note 3"',
    ]);
  });

  it('client streaming', async () => {
    const r = await runCli(['grpc', 'call', both.address, 'acme.notes.v2.Notebook/Import', '--json'], {
      input: '{"id":"5"}\n{"id":"9223372036854775807"}\n',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).data).toEqual({ imported: 2, ids: ['5', '9223372036854775807'] });
  });

  it('bidi streaming', async () => {
    const r = await runCli(['grpc', 'call', both.address, 'acme.notes.v2.Notebook/Echo', '--json'], {
      input: '{"seq":1,"text":"a"}{"seq":2,"text":"b"}',
    });
    expect(r.code).toBe(0);
    const lines = ndjson<{ data: unknown; type?: string }>(r.stdout);
    expect(lines.slice(0, 2).map((l) => l.data)).toEqual([
      { seq: 1, text: 'A' },
      { seq: 2, text: 'B' },
    ]);
  });

  it('a status from a foreign server maps to exit 1 with its name', async () => {
    const r = await runCli(['grpc', 'call', both.address, CREATE, '-d', '{"title":"forbidden"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PERMISSION_DENIED: no notes about that');
  });
});

describe('list and describe', () => {
  it('lists services and the methods of one with their kinds', async () => {
    const services = await runCli(['grpc', 'list', both.address]);
    expect(services.code).toBe(0);
    expect(services.stdout.split('\n')).toContain('acme.notes.v2.Notebook');
    const methods = await runCli(['grpc', 'list', both.address, 'acme.notes.v2.Notebook', '--json']);
    const rows = ndjson<{ method: string; kind: string }>(methods.stdout);
    expect(rows.map((m) => [m.method, m.kind])).toEqual([
      ['CreateNote', 'unary'],
      ['Tail', 'server streaming'],
      ['Import', 'client streaming'],
      ['Echo', 'bidi streaming'],
    ]);
  });

  it('describes a message in .proto syntax, and as a descriptor with --json', async () => {
    const text = await runCli(['grpc', 'describe', both.address, 'acme.notes.v2.CreateNoteRequest']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('message CreateNoteRequest {');
    expect(text.stdout).toContain('map<string, string> labels = 5;');
    expect(text.stdout).toMatch(/oneof visibility \{\s+bool is_public = 8;\s+string shared_with = 9;\s+\}/);
    const method = await runCli(['grpc', 'describe', both.address, 'acme.notes.v2.Notebook/Echo']);
    expect(method.stdout.trim()).toBe(
      'rpc Echo(stream .acme.notes.v2.EchoFrame) returns (stream .acme.notes.v2.EchoFrame);',
    );
    const asJson = await runCli(['grpc', 'describe', both.address, 'acme.notes.v2.TailRequest', '--json']);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      kind: 'message',
      descriptor: { name: 'TailRequest', field: [{ name: 'count', number: 1, type: 'TYPE_INT32' }] },
    });
  });

  it('describe and list work offline from --proto', async () => {
    const r = await runCli(['grpc', 'list', none.address, 'acme.notes.v2.Notebook', ...PROTO_ARGS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('acme.notes.v2.Notebook/Tail');
  });
});

describe('describe --json', () => {
  it('keeps oneofIndex 0 (proto2 presence in descriptor JSON)', async () => {
    const r = await runCli([
      'grpc',
      'describe',
      '--proto',
      'test/fixtures/grpc/notes.proto',
      '-I',
      'test/fixtures/grpc',
      refused,
      'acme.notes.v2.CreateNoteRequest',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [res] = ndjson(r.stdout) as Array<{
      descriptor: { field: Array<{ name: string; oneofIndex?: number }> };
    }>;
    const fields = res?.descriptor.field ?? [];
    expect(fields.find((f) => f.name === 'is_public')?.oneofIndex).toBe(0);
    expect(fields.find((f) => f.name === 'title')?.oneofIndex).toBeUndefined();
  });
});
