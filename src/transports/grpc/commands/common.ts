import type { Metadata } from '@grpc/grpc-js';
import type { Root } from 'protobufjs';
import { parseHeader } from '../../../core/input.js';
import { UsageError } from '../../../errors/comms-error.js';
import { GrpcConnection } from '../connection.js';
import { type GrpcSecurity, grpcSecurityFrom } from '../credentials.js';
import type { GrpcSchemaValues, GrpcTlsValues } from '../flags.js';
import { ReflectionClient } from '../reflection-client.js';
import { loadProtoFiles, loadProtoset, type SchemaSource } from '../schema.js';
import { type GrpcTarget, parseGrpcTarget } from '../target.js';

/** Where a command connects to and how: the target parsed, the TLS files read and checked. */
export interface GrpcEndpoint {
  readonly target: GrpcTarget;
  readonly security: GrpcSecurity;
}

export function endpointFrom(targetText: string, values: GrpcTlsValues): GrpcEndpoint {
  const target = parseGrpcTarget(targetText);
  return { target, security: grpcSecurityFrom(values, target) };
}

/** Open a channel to the endpoint (nothing is sent until a call). */
export async function openConnection(endpoint: GrpcEndpoint, channels = 1): Promise<GrpcConnection> {
  const grpc = await import('@grpc/grpc-js');
  return new GrpcConnection(grpc, endpoint.target, endpoint.security, channels);
}

/** `-H 'key: value'` pairs, validated (exit 2 on a malformed one). */
export function metadataPairs(headers: readonly string[]): Array<[string, string]> {
  return headers.map((h) => {
    const [k, v] = parseHeader(h, '-H');
    return [k.toLowerCase(), v];
  });
}

/** Where the schema comes from, checked: .proto files (with import paths), a protoset, or reflection. */
export type SchemaPlan =
  | { readonly source: 'proto'; readonly files: readonly string[]; readonly importPaths: readonly string[] }
  | { readonly source: 'protoset'; readonly files: readonly string[] }
  | { readonly source: 'reflection' };

export function schemaPlanFrom(values: GrpcSchemaValues): SchemaPlan {
  if (values.importPath.length && !values.proto.length)
    throw new UsageError('-I/--import-path needs --proto FILE');
  if (values.proto.length && values.protoset.length)
    throw new UsageError('use either --proto or --protoset, not both');
  if (values.proto.length) return { source: 'proto', files: values.proto, importPaths: values.importPath };
  if (values.protoset.length) return { source: 'protoset', files: values.protoset };
  return { source: 'reflection' };
}

export interface LoadedSchema {
  root: Root;
  source: SchemaSource;
  reflection?: ReflectionClient;
}

/**
 * The schema for `symbol`: from --proto files, from --protoset, or when neither is given from the
 * server's reflection service (which must then be reachable: connection failures exit 3).
 */
export async function loadSchema(
  conn: GrpcConnection,
  plan: SchemaPlan,
  symbol: string | undefined,
  metadata: Metadata,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<LoadedSchema> {
  if (plan.source === 'proto')
    return { root: await loadProtoFiles(plan.files, plan.importPaths), source: 'proto' };
  if (plan.source === 'protoset') return { root: await loadProtoset(plan.files), source: 'protoset' };
  const reflection = new ReflectionClient(conn, metadata, timeoutMs, signal);
  if (symbol === undefined) return { root: await emptyRoot(), source: 'reflection', reflection };
  return { root: await reflection.schemaFor(symbol), source: 'reflection', reflection };
}

async function emptyRoot(): Promise<Root> {
  const protobuf = (await import('protobufjs')).default;
  return new protobuf.Root();
}
