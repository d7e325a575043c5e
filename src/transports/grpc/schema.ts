import { existsSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Method, Root, Service, Type } from 'protobufjs';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { UsageError } from '../../errors/comms-error.js';
import { PROTO_DIR } from './proto-dir.js';

/** The four kinds of gRPC method, named as `grpc list` prints them. */
export type MethodKind = 'unary' | 'server streaming' | 'client streaming' | 'bidi streaming';

export function methodKind(method: Method): MethodKind {
  if (method.requestStream && method.responseStream) return 'bidi streaming';
  if (method.requestStream) return 'client streaming';
  if (method.responseStream) return 'server streaming';
  return 'unary';
}

/** A method resolved against a schema, ready to call. */
export interface ResolvedMethod {
  service: Service;
  method: Method;
  requestType: Type;
  responseType: Type;
  kind: MethodKind;
  /** `/pkg.Service/Method`: the HTTP/2 path of the call. */
  path: string;
  /** `pkg.Service/Method`: how results name the operation. */
  name: string;
}

/** Where a schema came from (for messages and hints). */
export type SchemaSource = 'proto' | 'protoset' | 'reflection';

const PARSE_OPTIONS = { keepCase: true, alternateCommentMode: true } as const;

/** The well-known types a protoset or reflection answer may reference without including them. */
const COMMON_FILES = ['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'];

/**
 * Load `.proto` files as protoc would. An import is looked up only inside the allowed roots: the
 * `-I` folders (without any, the folders of the --proto files), then comms-cli's shipped `proto/`;
 * next to the importing file only when that is inside a root too. Absolute imports and `..` that
 * leaves a root are refused, and only regular files are read (never a device, FIFO or a symlink out
 * of the root: `import "/dev/zero"` or `import "/etc/passwd"` find nothing). `google/protobuf/*.proto`
 * are always available. A missing file or import is a usage error naming it; an import cycle is one
 * too, as protoc says ("recursively imports itself").
 */
export async function loadProtoFiles(
  files: readonly string[],
  importPaths: readonly string[],
): Promise<Root> {
  const dirs = importPaths.map((d) => resolve(d));
  for (const d of dirs) {
    if (!existsSync(d) || !statSync(d).isDirectory())
      throw new UsageError(`import path '${d}' is not a directory (-I/--import-path)`);
  }
  for (const f of files) {
    if (!existsSync(f)) continue; // reported below, as before
    if (!statSync(f).isFile()) throw new UsageError(`--proto '${f}' is not a regular file`);
  }
  const roots = [
    ...(dirs.length ? dirs : [...new Set(files.map((f) => dirname(resolve(f))))]),
    PROTO_DIR,
  ].map((r) => realOr(r));
  const inRoots = (path: string): string | undefined => {
    if (!existsSync(path)) return undefined;
    const real = realOr(path);
    if (!roots.some((r) => real === r || real.startsWith(`${r}${sep}`))) return undefined;
    return statSync(real).isFile() ? path : undefined;
  };
  const missing: Array<{ target: string; from: string }> = [];
  const imports = new Map<string, string[]>();
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string => {
    const found = origin ? findImport(origin, target) : findTopLevel(target);
    if (origin && found !== undefined) {
      const from = resolve(origin);
      imports.set(from, [...(imports.get(from) ?? []), resolve(found)]);
    }
    if (found !== undefined) return found;
    missing.push({ target, from: origin });
    // A path that cannot exist: protobufjs fails to read it, and the error names the import.
    return join(PROTO_DIR, '.not-found', target.replace(/[^\w./-]/g, '_'));
  };
  // A --proto file as given (relative to the working directory), else under an -I folder (protoc).
  const findTopLevel = (target: string): string | undefined => {
    if (existsSync(target)) return resolve(target);
    if (isAbsolute(target)) return undefined;
    for (const d of dirs) {
      const c = join(d, target);
      if (existsSync(c) && statSync(c).isFile()) return c;
    }
    return undefined;
  };
  const findImport = (origin: string, target: string): string | undefined => {
    if (/(^|\/)google\/protobuf\/[a-z_]+\.proto$/.test(target) && !target.startsWith('/')) {
      const shipped = join(PROTO_DIR, target);
      return existsSync(shipped) ? shipped : target; // protobufjs bundles these
    }
    if (isAbsolute(target)) return undefined;
    const candidates = [
      join(dirname(origin), target),
      ...dirs.map((d) => join(d, target)),
      join(PROTO_DIR, target),
    ];
    for (const c of candidates) {
      const ok = inRoots(c);
      if (ok) return ok;
    }
    return undefined;
  };
  try {
    await root.load(files.slice(), PARSE_OPTIONS);
  } catch (err) {
    const miss = missing[0];
    if (miss) {
      const searched = roots.join(', ');
      throw new UsageError(
        miss.from
          ? `import '${miss.target}' not found (imported by ${miss.from})`
          : `cannot read --proto file '${miss.target}': no such file`,
        {
          hint: `imports are looked up only under: ${searched}; add the folder that holds it with -I/--import-path DIR`,
          cause: err,
        },
      );
    }
    throw new UsageError(`cannot parse --proto: ${(err as Error).message}`, { cause: err });
  }
  const cycle = findCycle(imports);
  if (cycle)
    throw new UsageError(`import cycle: ${cycle.join(' -> ')}`, {
      hint: `${cycle[0]} recursively imports itself (protoc refuses this too)`,
    });
  return finish(root, 'proto');
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The first import cycle in the graph, as the files along it (first file repeated at the end). */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

/** Load a compiled FileDescriptorSet (`protoc --descriptor_set_out=FILE --include_imports`). */
export async function loadProtoset(files: readonly string[]): Promise<Root> {
  const all: unknown[] = [];
  for (const file of files) {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      throw new UsageError(
        `cannot read --protoset file '${file}': ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        { cause: err },
      );
    }
    try {
      const set = descriptor.FileDescriptorSet.decode(buf) as unknown as { file: unknown[] };
      all.push(...set.file);
    } catch (err) {
      throw new UsageError(
        `--protoset file '${file}' is not a FileDescriptorSet: ${(err as Error).message}`,
        {
          hint: 'build one with protoc --descriptor_set_out=FILE --include_imports',
          cause: err,
        },
      );
    }
  }
  return rootFromFileDescriptors(all, 'protoset');
}

/** Build a Root from decoded FileDescriptorProto messages (protoset or reflection answers). */
export function rootFromFileDescriptors(files: readonly unknown[], source: SchemaSource): Root {
  const byName = new Map<string, unknown>();
  for (const f of files) byName.set((f as { name?: string }).name ?? String(byName.size), f);
  let root: Root;
  try {
    // ext/descriptor adds Root.fromDescriptor at runtime; its typings live on the module, not on Root.
    const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: unknown): Root })
      .fromDescriptor;
    root = fromDescriptor(descriptor.FileDescriptorSet.create({ file: [...byName.values()] }));
  } catch (err) {
    throw new UsageError(`cannot use the ${source} descriptors: ${(err as Error).message}`, { cause: err });
  }
  const fixed = finish(root, source);
  restoreMapFields(fixed, mapEntryNames([...byName.values()]));
  return fixed;
}

interface DescriptorMessage {
  name?: string;
  options?: { mapEntry?: boolean };
  nestedType?: DescriptorMessage[];
}

/** Full names (`.pkg.Msg.LabelsEntry`) of the synthetic map-entry messages in file descriptors. */
function mapEntryNames(files: readonly unknown[]): Set<string> {
  const out = new Set<string>();
  const walk = (prefix: string, msgs: DescriptorMessage[] | undefined) => {
    for (const m of msgs ?? []) {
      const full = `${prefix}.${m.name ?? ''}`;
      if (m.options?.mapEntry) out.add(full);
      walk(full, m.nestedType);
    }
  };
  for (const f of files) {
    const file = f as { package?: string; messageType?: DescriptorMessage[] };
    walk(file.package ? `.${file.package}` : '', file.messageType);
  }
  return out;
}

/**
 * protobufjs' Root.fromDescriptor leaves `map<K, V>` fields as `repeated XEntry` messages (it marks
 * the wrong type as the map entry), which would make `{"labels": {...}}` invalid JSON for the call.
 * Turn them back into map fields, as protoc's .proto source had them.
 */
function restoreMapFields(root: Root, entries: ReadonlySet<string>): void {
  if (entries.size === 0) return;
  const types: Type[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) types.push(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type)
        walk(child as protobuf.NamespaceBase);
    }
  };
  walk(root);
  let changed = false;
  for (const type of types) {
    for (const field of [...type.fieldsArray]) {
      const entry = field.resolvedType;
      if (!field.repeated || !(entry instanceof protobuf.Type) || !entries.has(entry.fullName)) continue;
      const key = entry.fields.key;
      const value = entry.fields.value;
      if (!key || !value) continue;
      const valueType = value.resolvedType ? value.resolvedType.fullName : value.type;
      type.remove(field);
      type.add(new protobuf.MapField(field.name, field.id, key.type, valueType, field.options));
      if (entry.parent === type) type.remove(entry);
      changed = true;
    }
  }
  if (changed) root.resolveAll();
}

function finish(root: Root, source: SchemaSource): Root {
  addMissingWellKnownTypes(root);
  try {
    root.resolveAll();
  } catch (err) {
    throw new UsageError(`the ${source} schema is incomplete: ${(err as Error).message}`, {
      hint:
        source === 'protoset'
          ? 'rebuild it with protoc --include_imports'
          : 'add the .proto that defines it (and -I for its folder)',
      cause: err,
    });
  }
  return root;
}

function addMissingWellKnownTypes(root: Root): void {
  for (const file of COMMON_FILES) {
    const json = protobuf.common.get(`google/protobuf/${file}.proto`) as {
      nested?: Record<string, unknown>;
    } | null;
    const types = (
      json?.nested?.google as
        | { nested?: { protobuf?: { nested?: Record<string, protobuf.AnyNestedObject> } } }
        | undefined
    )?.nested?.protobuf?.nested;
    if (!types) continue;
    for (const [name, def] of Object.entries(types)) {
      if (root.lookup(`.google.protobuf.${name}`)) continue;
      root
        .define('google.protobuf')
        .add(
          'values' in def
            ? protobuf.Enum.fromJSON(name, def as protobuf.IEnum)
            : protobuf.Type.fromJSON(name, def as protobuf.IType),
        );
    }
  }
}

/** Every service in a root (full names without the leading dot), sorted. */
export function servicesOf(root: Root): Service[] {
  const out: Service[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Service) out.push(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type)
        walk(child as protobuf.NamespaceBase);
    }
  };
  walk(root);
  return out.sort((a, b) => a.fullName.localeCompare(b.fullName));
}

/** `pkg.Service/Method` or `pkg.Service.Method` → service and method names. */
export function splitMethodName(text: string): { service: string; method: string } {
  const t = text.replace(/^\//, '').trim();
  const slash = t.lastIndexOf('/');
  const at = slash >= 0 ? slash : t.lastIndexOf('.');
  const service = at > 0 ? t.slice(0, at) : '';
  const method = at > 0 ? t.slice(at + 1) : '';
  if (!service || !method || !/^[A-Za-z_][\w.]*$/.test(service) || !/^[A-Za-z_]\w*$/.test(method)) {
    throw new UsageError(`invalid method '${text}': expected pkg.Service/Method`, {
      hint: 'e.g. inventory.Inventory/GetItem; `comms-cli grpc list <target> <service>` lists methods',
    });
  }
  return { service, method };
}

/** Find a method in a root; unknown service or method is a usage error listing what exists. */
export function resolveMethod(root: Root, text: string): ResolvedMethod {
  const { service: serviceName, method: methodName } = splitMethodName(text);
  const service = root.lookup(serviceName);
  if (!(service instanceof protobuf.Service)) {
    const have = servicesOf(root).map((s) => s.fullName.slice(1));
    throw new UsageError(`unknown service '${serviceName}'`, {
      hint: have.length ? `services: ${have.join(', ')}` : 'the schema defines no services',
    });
  }
  const method = service.methods[methodName];
  if (!method) {
    throw new UsageError(`unknown method '${methodName}' in service ${service.fullName.slice(1)}`, {
      hint: `methods: ${Object.keys(service.methods).join(', ')}`,
    });
  }
  method.resolve();
  const requestType = method.resolvedRequestType;
  const responseType = method.resolvedResponseType;
  if (!requestType || !responseType)
    throw new UsageError(`method ${text} has unresolved request/response types`);
  const full = service.fullName.slice(1);
  return {
    service,
    method,
    requestType,
    responseType,
    kind: methodKind(method),
    path: `/${full}/${method.name}`,
    name: `${full}/${method.name}`,
  };
}

/** Load .proto files shipped in `proto/` (health, reflection, google.rpc) into one Root: cached per process. */
const shipped = new Map<string, Promise<Root>>();
export function loadShippedProto(...relPaths: string[]): Promise<Root> {
  const key = relPaths.join('|');
  let p = shipped.get(key);
  if (!p) {
    p = (async () => {
      const root = new protobuf.Root();
      root.resolvePath = (origin, target) => {
        if (isAbsolute(target)) return target;
        const fromRoot = join(PROTO_DIR, target);
        if (existsSync(fromRoot)) return fromRoot;
        const local = join(origin ? dirname(origin) : PROTO_DIR, target);
        return existsSync(local) ? local : target;
      };
      await root.load(
        relPaths.map((r) => join(PROTO_DIR, r)),
        PARSE_OPTIONS,
      );
      root.resolveAll();
      return root;
    })();
    shipped.set(key, p);
  }
  return p;
}
