import type { Root } from 'protobufjs';
import { UsageError } from '../../errors/comms-error.js';

/**
 * `grpc call --format text`: requests and responses in the protobuf text format (prototext), as
 * grpcurl's `-format text`. protobufjs has no text format, so the schema (a protobufjs Root from
 * --proto, --protoset or reflection) is handed to @bufbuild/protobuf as a FileDescriptorSet and the
 * messages cross between the two runtimes as binary, which is exact for every field type. Loaded
 * only when --format text is given (a plain `grpc call` never loads @bufbuild/protobuf).
 */

/** grpcurl's separator between text-format messages: ASCII Record Separator. */
export const TEXT_SEPARATOR = '\x1e';

export interface TextCodec {
  /** Parse one request message from text to its binary encoding; a bad one is a usage error (exit 2). */
  encodeRequest(text: string, where: string): Buffer;
  /** Print one response message (binary) in the text format, without a trailing newline. */
  formatResponse(bytes: Uint8Array): string;
}

/** grpcurl's text parser: messages are split on the record separator; empty text is an empty message. */
export function splitTextMessages(input: string): string[] {
  return input.split(TEXT_SEPARATOR);
}

interface FieldProto {
  name: string;
  typeName?: string;
  extendee?: string;
}
interface MessageProto {
  name: string;
  enumType?: Array<{ name: string }>;
  field?: FieldProto[];
  nestedType?: MessageProto[];
  extension?: FieldProto[];
}
interface DescriptorSet {
  file: Array<{
    name: string;
    package?: string;
    dependency?: string[];
    enumType?: Array<{ name: string }>;
    messageType?: MessageProto[];
    extension?: FieldProto[];
    service?: Array<{
      name: string;
      method?: Array<{ name: string; inputType?: string; outputType?: string }>;
    }>;
  }>;
}

/**
 * protobufjs writes type references as it read them (`Category`, relative to the scope), which a
 * strict descriptor consumer rejects: rewrite each to its fully-qualified `.pkg.Category`, as the
 * resolved protobufjs schema knows it.
 */
/**
 * protobufjs leaves `dependency` empty; a descriptor registry needs each file's imports to resolve
 * the types it references. Derived from the (qualified) references to types of other files.
 */
/** Every message and enum of the set by fully-qualified name (`.pkg.Msg`), to its file's name. */
function typeOwners(set: DescriptorSet): Map<string, string> {
  const owner = new Map<string, string>();
  for (const f of set.file) {
    const prefix = f.package ? `.${f.package}` : '';
    const add = (messages: MessageProto[] | undefined, scope: string) => {
      for (const m of messages ?? []) {
        owner.set(`${scope}.${m.name}`, f.name);
        for (const e of m.enumType ?? []) owner.set(`${scope}.${m.name}.${e.name}`, f.name);
        add(m.nestedType, `${scope}.${m.name}`);
      }
    };
    add(f.messageType, prefix);
    for (const e of f.enumType ?? []) owner.set(`${prefix}.${e.name}`, f.name);
  }
  return owner;
}

function fixDependencies(set: DescriptorSet, file: DescriptorSet['file'][number]): void {
  const owner = typeOwners(set);
  const refs = new Set<string>();
  const collect = (fields: FieldProto[] | undefined) => {
    for (const f of fields ?? []) for (const r of [f.typeName, f.extendee]) if (r) refs.add(r);
  };
  const walk = (messages: MessageProto[] | undefined) => {
    for (const m of messages ?? []) {
      collect(m.field);
      collect(m.extension);
      walk(m.nestedType);
    }
  };
  walk(file.messageType);
  collect(file.extension);
  for (const s of file.service ?? [])
    for (const m of s.method ?? []) for (const r of [m.inputType, m.outputType]) if (r) refs.add(r);
  const deps = new Set<string>();
  for (const r of refs) {
    const name = owner.get(r);
    if (name && name !== file.name) deps.add(name);
  }
  file.dependency = [...deps];
}

function qualifyTypeNames(set: DescriptorSet): void {
  const known = typeOwners(set);
  // Resolved as protoc does: from the innermost scope outwards.
  const qualify = (name: string | undefined, scope: string): string | undefined => {
    if (!name || name.startsWith('.')) return name;
    const parts = scope.split('.').filter(Boolean);
    for (; ; parts.pop()) {
      const candidate = `.${[...parts, name].join('.')}`;
      if (known.has(candidate)) return candidate;
      if (parts.length === 0) return name;
    }
  };
  const fixFields = (fields: FieldProto[] | undefined, scope: string) => {
    for (const f of fields ?? []) {
      f.typeName = qualify(f.typeName, scope);
      f.extendee = qualify(f.extendee, scope);
      if (f.typeName === undefined) delete f.typeName;
      if (f.extendee === undefined) delete f.extendee;
    }
  };
  const walk = (messages: MessageProto[] | undefined, scope: string) => {
    for (const m of messages ?? []) {
      const name = scope ? `${scope}.${m.name}` : m.name;
      fixFields(m.field, name);
      fixFields(m.extension, name);
      walk(m.nestedType, name);
    }
  };
  for (const file of set.file) {
    const pkg = file.package ?? '';
    walk(file.messageType, pkg);
    fixFields(file.extension, pkg);
    for (const s of file.service ?? []) {
      const scope = pkg ? `${pkg}.${s.name}` : s.name;
      for (const m of s.method ?? []) {
        m.inputType = qualify(m.inputType, scope);
        m.outputType = qualify(m.outputType, scope);
      }
    }
  }
  for (const file of set.file) fixDependencies(set, file);
  // A registry reads a set in order: imports first.
  const byName = new Map(set.file.map((f) => [f.name, f]));
  const ordered: DescriptorSet['file'] = [];
  const seen = new Set<string>();
  const visit = (f: DescriptorSet['file'][number]) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const d of f.dependency ?? []) {
      const dep = byName.get(d);
      if (dep) visit(dep);
    }
    ordered.push(f);
  };
  for (const f of set.file) visit(f);
  set.file = ordered;
}

export async function loadTextCodec(
  root: Root,
  requestType: string,
  responseType: string,
): Promise<TextCodec> {
  const [{ default: descriptor }, pb, wkt, txtpb] = await Promise.all([
    import('protobufjs/ext/descriptor/index.js'),
    import('@bufbuild/protobuf'),
    import('@bufbuild/protobuf/wkt'),
    import('@bufbuild/protobuf/txtpb'),
  ]);
  // ext/descriptor adds toDescriptor at run time; the typings live on the module.
  const set = (root as unknown as { toDescriptor(syntax: string): DescriptorSet }).toDescriptor('proto3');
  qualifyTypeNames(set);
  const bytes = descriptor.FileDescriptorSet.encode(set as never).finish();
  const registry = pb.createFileRegistry(pb.fromBinary(wkt.FileDescriptorSetSchema, bytes));
  const find = (name: string) => {
    const desc = registry.getMessage(name.replace(/^\./, ''));
    if (!desc) throw new UsageError(`--format text: message type ${name} not found in the schema`);
    return desc;
  };
  const request = find(requestType);
  const response = find(responseType);
  return {
    encodeRequest(text, where) {
      try {
        const message = txtpb.fromText(request, text, { registry });
        return Buffer.from(pb.toBinary(request, message));
      } catch (err) {
        const reason = (err as Error).message.replace(/\s*\n\s*/g, ' ');
        throw new UsageError(`-d (--format text): ${where}: ${reason}`);
      }
    },
    formatResponse(bytes) {
      const message = pb.fromBinary(response, bytes);
      return txtpb.toText(response, message, { registry }).replace(/\n$/, '');
    },
  };
}
