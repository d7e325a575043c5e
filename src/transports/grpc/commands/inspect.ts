import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type { CommandContext } from '../../../command/context.js';
import { outputFrom } from '../../../command/shared-options.js';
import { CommsError, UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { deadlineSignal } from '../../../middleware/timeout.js';
import { Output, type OutputOptions } from '../../../output/output.js';
import { escapeControls } from '../escape.js';
import type { GrpcInspectValues } from '../flags.js';
import { messageToJson } from '../json-codec.js';
import { printProto, symbolKind } from '../proto-printer.js';
import { methodKind, servicesOf } from '../schema.js';
import { messageTemplate } from '../template.js';
import {
  endpointFrom,
  type GrpcEndpoint,
  loadSchema,
  metadataPairs,
  openConnection,
  type SchemaPlan,
  schemaPlanFrom,
} from './common.js';

/** `grpc list` / `grpc describe`, parsed and checked once from their options. */
export interface GrpcInspectPlan {
  readonly endpoint: GrpcEndpoint;
  readonly schema: SchemaPlan;
  readonly metadata: ReadonlyArray<[string, string]>;
  /** Deadline of the whole reflection lookup (and of each request in it); 0: none. */
  readonly timeoutMs: number;
  /** --max-time: bound on the whole command. */
  readonly maxTimeMs: number | undefined;
  readonly output: OutputOptions;
}

export function grpcInspectPlanFrom(targetText: string, values: GrpcInspectValues): GrpcInspectPlan {
  return {
    output: outputFrom(values),
    timeoutMs: values.timeout,
    maxTimeMs: values.maxTime,
    metadata: metadataPairs(values.header),
    schema: schemaPlanFrom(values),
    endpoint: endpointFrom(targetText, values),
  };
}

/** The symbol `grpc describe` looks up (`pkg.Service/Method` -> `pkg.Service.Method`), checked. */
function describeSymbol(symbolText: string): string {
  const symbol = symbolText.replace(/^\./, '').replace('/', '.');
  if (!/^[A-Za-z_][\w.]*$/.test(symbol))
    throw new UsageError(
      `invalid symbol '${symbolText}': expected pkg.Service, pkg.Service/Method or pkg.Message`,
    );
  return symbol;
}

/** `grpc list <target> [service]`: services, or one service's methods with their kinds. */
export async function runGrpcList(
  plan: GrpcInspectPlan,
  service: string | undefined,
  ctx: CommandContext,
): Promise<number> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const conn = await openConnection(plan.endpoint);
  const bound = lookupBound(plan, ctx.signal);
  try {
    const metadata = conn.metadataFrom(plan.metadata);
    const schema = await loadSchema(conn, plan.schema, service, metadata, plan.timeoutMs, bound.signal);
    if (service === undefined) {
      const names = schema.reflection
        ? await schema.reflection.listServices()
        : servicesOf(schema.root).map((s) => s.fullName.slice(1));
      for (const name of names) {
        if (output.options.json) await output.json({ service: name });
        // Names come from the peer: control characters are shown escaped, never sent to the terminal.
        else await output.data(`${escapeControls(name)}\n`);
      }
      output.info(
        output.c.dim(
          `${names.length} service${names.length === 1 ? '' : 's'}${schema.reflection?.version ? ` (${schema.reflection.version})` : ''}`,
        ),
      );
      return ExitCode.ok;
    }
    const svc = schema.root.lookup(service.replace(/^\./, ''));
    if (!(svc instanceof protobuf.Service)) {
      throw new UsageError(`unknown service '${service}'`, {
        hint: `services: ${
          servicesOf(schema.root)
            .map((s) => s.fullName.slice(1))
            .join(', ') || 'none'
        }`,
      });
    }
    const full = svc.fullName.slice(1);
    const width = Math.max(...svc.methodsArray.map((m) => m.name.length), 0);
    for (const m of svc.methodsArray) {
      m.resolve();
      const req = m.resolvedRequestType?.fullName.slice(1) ?? m.requestType;
      const res = m.resolvedResponseType?.fullName.slice(1) ?? m.responseType;
      const kind = methodKind(m);
      if (output.options.json)
        await output.json({
          service: full,
          method: m.name,
          fullName: `${full}/${m.name}`,
          kind,
          requestType: req,
          responseType: res,
        });
      else await output.data(`${full}/${m.name.padEnd(width)}  ${kind.padEnd(16)}  ${req} → ${res}\n`);
    }
    return ExitCode.ok;
  } finally {
    bound.dispose();
    conn.close();
  }
}

/**
 * The whole lookup is bounded (issue 17: a reflection server that names a new dependency in every
 * answer made 577k requests in 40 s): --timeout covers all of its requests together, --max-time the
 * whole command; ReflectionClient also caps the number of files it fetches.
 */
function lookupBound(plan: GrpcInspectPlan, parent: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const lookup = deadlineSignal(parent, plan.timeoutMs, '--timeout');
  const total = deadlineSignal(lookup.signal, plan.maxTimeMs, '--max-time');
  return {
    signal: total.signal,
    dispose() {
      total.dispose();
      lookup.dispose();
    },
  };
}

/**
 * The schema that defines `symbol`. Some reflection servers only index services and types: when the
 * symbol is not found, ask for its parent (the service of a method).
 */
async function schemaForSymbol(
  conn: Awaited<ReturnType<typeof openConnection>>,
  plan: GrpcInspectPlan,
  symbol: string,
  metadata: ReturnType<Awaited<ReturnType<typeof openConnection>>['metadataFrom']>,
  signal: AbortSignal,
): Promise<Awaited<ReturnType<typeof loadSchema>>> {
  try {
    return await loadSchema(conn, plan.schema, symbol, metadata, plan.timeoutMs, signal);
  } catch (err) {
    const parent = symbol.slice(0, symbol.lastIndexOf('.'));
    const notFound = err instanceof CommsError && err.kind === 'usage' && /not found/.test(err.message);
    if (!notFound || !parent) throw err;
    try {
      return await loadSchema(conn, plan.schema, parent, metadata, plan.timeoutMs, signal);
    } catch (parentErr) {
      // The parent was only a guess: report the symbol the user asked for, not the parent.
      if (
        parentErr instanceof CommsError &&
        parentErr.kind === 'usage' &&
        /not found/.test(parentErr.message)
      )
        throw err;
      throw parentErr;
    }
  }
}

/**
 * `grpc describe <target> [symbol]`: .proto syntax, or with --json the descriptor in proto3 JSON.
 * Without a symbol, every service the server (or the schema files) defines, as grpcurl does.
 */
export async function runGrpcDescribe(
  plan: GrpcInspectPlan,
  symbolText: string | undefined,
  ctx: CommandContext,
): Promise<number> {
  if (symbolText === undefined) return describeAll(plan, ctx);
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const symbol = describeSymbol(symbolText);
  const conn = await openConnection(plan.endpoint);
  const bound = lookupBound(plan, ctx.signal);
  try {
    const metadata = conn.metadataFrom(plan.metadata);
    const schema = await schemaForSymbol(conn, plan, symbol, metadata, bound.signal);
    const obj = schema.root.lookup(symbol);
    if (!obj)
      throw new UsageError(`symbol '${symbolText}' not found`, {
        hint: 'list services with `comms-cli grpc list <target>`',
      });
    if (output.options.json)
      await output.json({ symbol, kind: symbolKind(obj), descriptor: descriptorJson(obj) });
    else await output.data(printProto(obj));
    return ExitCode.ok;
  } finally {
    bound.dispose();
    conn.close();
  }
}

/** The google.protobuf.*DescriptorProto of a symbol, in proto3 JSON. */
function descriptorJson(obj: protobuf.ReflectionObject): unknown {
  const d = descriptor as unknown as Record<string, protobuf.Type>;
  const typeName =
    obj instanceof protobuf.Service
      ? 'ServiceDescriptorProto'
      : obj instanceof protobuf.Method
        ? 'MethodDescriptorProto'
        : obj instanceof protobuf.Type
          ? 'DescriptorProto'
          : obj instanceof protobuf.Enum
            ? 'EnumDescriptorProto'
            : undefined;
  const type = typeName ? d[typeName] : undefined;
  const withDescriptor = obj as unknown as { toDescriptor?: (edition?: string) => protobuf.Message };
  if (!type || !withDescriptor.toDescriptor) return obj.toJSON();
  type.root.resolveAll();
  return messageToJson(type, withDescriptor.toDescriptor('proto3'));
}

/** Every service, described one after another (blank line between them; one JSON line each with --json). */
async function describeAll(plan: GrpcInspectPlan, ctx: CommandContext): Promise<number> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const conn = await openConnection(plan.endpoint);
  const bound = lookupBound(plan, ctx.signal);
  try {
    const metadata = conn.metadataFrom(plan.metadata);
    const schema = await loadSchema(conn, plan.schema, undefined, metadata, plan.timeoutMs, bound.signal);
    const names = schema.reflection
      ? await schema.reflection.listServices()
      : servicesOf(schema.root).map((s) => s.fullName.slice(1));
    let first = true;
    for (const name of names) {
      const root = schema.reflection ? await schema.reflection.schemaFor(name) : schema.root;
      const svc = root.lookup(name);
      if (!(svc instanceof protobuf.Service)) continue;
      if (output.options.json)
        await output.json({ symbol: name, kind: symbolKind(svc), descriptor: descriptorJson(svc) });
      else {
        await output.data(`${first ? '' : '\n'}${printProto(svc)}`);
        first = false;
      }
    }
    output.info(output.c.dim(`${names.length} service${names.length === 1 ? '' : 's'}`));
    return ExitCode.ok;
  } finally {
    bound.dispose();
    conn.close();
  }
}

/**
 * `grpc template <target> <method|message>`: a JSON skeleton of the method's request message (or of
 * the message itself), to edit and pass to `grpc call -d`.
 */
export async function runGrpcTemplate(
  plan: GrpcInspectPlan,
  symbolText: string,
  ctx: CommandContext,
): Promise<number> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const symbol = describeSymbol(symbolText);
  const conn = await openConnection(plan.endpoint);
  const bound = lookupBound(plan, ctx.signal);
  try {
    const metadata = conn.metadataFrom(plan.metadata);
    const schema = await schemaForSymbol(conn, plan, symbol, metadata, bound.signal);
    const obj = schema.root.lookup(symbol);
    let type: protobuf.Type | undefined;
    if (obj instanceof protobuf.Method) {
      obj.resolve();
      type = obj.resolvedRequestType ?? undefined;
    } else if (obj instanceof protobuf.Type) type = obj;
    if (!type)
      throw new UsageError(
        obj
          ? `'${symbolText}' is a ${symbolKind(obj)}: expected a method or a message`
          : `symbol '${symbolText}' not found`,
        { hint: 'list methods with `comms-cli grpc list <target> <service>`' },
      );
    const template = messageTemplate(type);
    if (output.options.json) await output.json({ type: type.fullName.slice(1), template });
    else await output.data(`${JSON.stringify(template, null, 2)}\n`);
    return ExitCode.ok;
  } finally {
    bound.dispose();
    conn.close();
  }
}
