import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors/comms-error.js';
import { commandOf } from './security.js';

/** Schema flags of `grpc call` (value-taking): the coordinator reads them, workers never do. */
const SCHEMA_FLAGS = new Set(['--proto', '--protoset', '-I', '--import-path']);

/** A plan's argv without its schema flags, and the schema they named as a FileDescriptorSet. */
export interface InlinedSchema {
  argv: string[];
  /** base64 of a FileDescriptorSet (the bytes `protoc --descriptor_set_out --include_imports` writes). */
  protoset?: string;
}

/**
 * gRPC plans with `--proto`/`-I`/`--protoset`: compile the schema here, on the coordinator, and ship
 * it as one FileDescriptorSet (the worker writes it to its private temp folder and passes
 * `--protoset` itself), so a worker never reads a schema file of its own disk. A FileDescriptorSet
 * rather than the .proto texts: imports are already resolved, and it is what reflection answers too.
 */
export async function inlineGrpcSchema(argv: readonly string[]): Promise<InlinedSchema> {
  if (commandOf(argv)[0] !== 'grpc') return { argv: [...argv] };
  const found: Record<string, string[]> = { '--proto': [], '--protoset': [], '--import-path': [] };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const flag = eq > 0 ? token.slice(0, eq) : token;
    const attachedI = /^-I./.test(token) ? token.slice(2) : undefined;
    if (!SCHEMA_FLAGS.has(flag) && attachedI === undefined) {
      rest.push(token);
      continue;
    }
    const value = attachedI ?? (eq > 0 ? token.slice(eq + 1) : argv[++i]);
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    found[flag === '-I' || attachedI !== undefined ? '--import-path' : flag]?.push(value);
  }
  const protos = found['--proto'] ?? [];
  const protosets = found['--protoset'] ?? [];
  if (protos.length === 0 && protosets.length === 0) return { argv: [...argv] };

  const [{ loadProtoFiles }, { default: descriptor }] = await Promise.all([
    import('../transports/grpc/schema.js'),
    import('protobufjs/ext/descriptor/index.js'),
  ]);
  const files: unknown[] = [];
  if (protos.length > 0) {
    const root = await loadProtoFiles(protos, found['--import-path'] ?? []);
    // ext/descriptor adds toDescriptor at run time; the typings live on the module.
    const set = (root as unknown as { toDescriptor(syntax: string): { file: unknown[] } }).toDescriptor(
      'proto3',
    );
    files.push(...set.file);
  }
  for (const file of protosets) {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read --protoset file '${file}': ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      files.push(...(descriptor.FileDescriptorSet.decode(buf) as unknown as { file: unknown[] }).file);
    } catch (err) {
      throw new UsageError(`--protoset file '${file}' is not a FileDescriptorSet: ${(err as Error).message}`);
    }
  }
  const bytes = descriptor.FileDescriptorSet.encode(
    descriptor.FileDescriptorSet.create({ file: files } as never),
  ).finish();
  return { argv: rest, protoset: Buffer.from(bytes).toString('base64') };
}
