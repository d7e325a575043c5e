import type { Metadata } from '@grpc/grpc-js';
import type { Root } from 'protobufjs';
import type { GrpcSchemaFlags, GrpcTlsFlagSet } from '../../../cli/commands/grpc.js';
import { parseHeader } from '../../../core/input.js';
import { UsageError } from '../../../errors/comms-error.js';
import { GrpcConnection } from '../connection.js';
import { ReflectionClient } from '../reflection-client.js';
import { loadProtoFiles, loadProtoset, type SchemaSource } from '../schema.js';
import { parseGrpcTarget } from '../target.js';

/** Open a channel for a target with the TLS flags (nothing is sent until a call). */
export async function openConnection(
  targetText: string,
  flags: GrpcTlsFlagSet,
  channels = 1,
): Promise<GrpcConnection> {
  const target = parseGrpcTarget(targetText);
  const grpc = await import('@grpc/grpc-js');
  return new GrpcConnection(grpc, target, flags, channels);
}

/** `-H 'key: value'` pairs, validated (exit 2 on a malformed one). */
export function metadataPairs(headers: readonly string[] | undefined): Array<[string, string]> {
  return (headers ?? []).map((h) => {
    const [k, v] = parseHeader(h, '-H');
    return [k.toLowerCase(), v];
  });
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
  flags: GrpcSchemaFlags,
  symbol: string | undefined,
  metadata: Metadata,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<LoadedSchema> {
  if (flags.importPath?.length && !flags.proto?.length)
    throw new UsageError('-I/--import-path needs --proto FILE');
  if (flags.proto?.length && flags.protoset?.length)
    throw new UsageError('use either --proto or --protoset, not both');
  if (flags.proto?.length)
    return { root: await loadProtoFiles(flags.proto, flags.importPath ?? []), source: 'proto' };
  if (flags.protoset?.length) return { root: await loadProtoset(flags.protoset), source: 'protoset' };
  const reflection = new ReflectionClient(conn, metadata, timeoutMs, signal);
  if (symbol === undefined) return { root: await emptyRoot(), source: 'reflection', reflection };
  return { root: await reflection.schemaFor(symbol), source: 'reflection', reflection };
}

async function emptyRoot(): Promise<Root> {
  const protobuf = (await import('protobufjs')).default;
  return new protobuf.Root();
}
