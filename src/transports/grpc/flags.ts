import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_OPTIONS } from '../../command/expect-options.js';
import {
  choice,
  duration,
  flag,
  integer,
  list,
  type OptionEntry,
  type OptionValues,
  text,
} from '../../command/option.js';
import { OUTPUT_OPTIONS } from '../../command/shared-options.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';
import { TRACE_OPTIONS } from '../../command/trace.js';
import { parseExpectedStatuses, parseStatusCodes } from './status-codes.js';

/**
 * The options of `comms-cli grpc call|list|describe|health`, declared once: --help, the docs, check-file
 * steps and the runners read these entries. This file stays cheap to load (no grpc-js, no protobufjs):
 * register.ts imports it for every command line.
 */

/** A comma-separated list of gRPC status codes (names or numbers), parsed as argv is read. */
function statusCodes(flags: string, help: string): OptionEntry<number[] | undefined> {
  return { ...text(flags, help), default: undefined, parse: (raw, name) => parseStatusCodes(raw, name) };
}

/** Where the schema comes from: .proto files, a protoset, or (neither) server reflection. */
export const GRPC_SCHEMA_OPTIONS = {
  proto: list('--proto <file>', 'schema from a .proto file (repeatable); default: server reflection'),
  importPath: list('-I, --import-path <dir>', 'folder to search for .proto imports (repeatable)'),
  protoset: list('--protoset <file>', 'schema from a compiled FileDescriptorSet (repeatable)'),
};
export type GrpcSchemaValues = OptionValues<typeof GRPC_SCHEMA_OPTIONS>;

/**
 * Transport security: plaintext unless one of these (or a grpcs:// target) asks for TLS. The shared
 * TLS entries mean the same here; gRPC adds --tls (plaintext is its default) and --authority, and any
 * TLS option (--cacert, --cert/--key, -k, --servername) implies --tls.
 */
export const GRPC_TLS_OPTIONS = {
  tls: flag('--tls', 'use TLS (plaintext is the default; grpcs:// also turns it on)'),
  plaintext: flag(
    '--plaintext',
    "no TLS: already the default without TLS options (grpcurl's -plaintext is accepted too)",
  ),
  ...TLS_OPTIONS,
  cacert: { ...TLS_OPTIONS.cacert, help: 'trust this CA certificate (PEM); implies --tls' },
  authority: text('--authority <authority>', 'the :authority header (virtual host) to send'),
};
export type GrpcTlsValues = OptionValues<typeof GRPC_TLS_OPTIONS>;

/** Request metadata (also sent on reflection requests). */
const GRPC_METADATA_OPTIONS = {
  header: list(
    '-H, --header <metadata>',
    "request metadata 'key: value' (repeatable; -bin keys take base64)",
    {
      mapSyntax: ': ',
    },
  ),
};

/** `grpc call`: its own options, metadata, schema, TLS, then resilience, load and output. */
export const GRPC_CALL_OPTIONS = {
  data: text(
    '-d, --data <json>',
    'request JSON (or prototext with --format text): inline, @file, @- or @ (stdin); streams take NDJSON',
  ),
  format: choice(
    '--format <fmt>',
    "-d and printed responses: json or text (protobuf text format, as grpcurl's -format text)",
    ['json', 'text'],
    { default: 'json' },
  ),
  emitDefaults: flag('--emit-defaults', 'print zero values in responses (proto3 JSON omits them)'),
  retryOn: statusCodes(
    '--retry-on <codes>',
    "status codes to retry besides UNAVAILABLE, e.g. 'RESOURCE_EXHAUSTED,ABORTED'",
  ),
  ...GRPC_METADATA_OPTIONS,
  ...GRPC_SCHEMA_OPTIONS,
  ...GRPC_TLS_OPTIONS,
  expectStatus: {
    ...text(
      '--expect-status <codes>',
      "expected status: names or numbers, any case, e.g. NOT_FOUND or 'OK,NOT_FOUND' (exit 1 otherwise)",
    ),
    default: undefined,
    parse: (raw: string, name: string) => parseExpectedStatuses(raw, name),
  } as OptionEntry<ReadonlySet<number> | undefined>,
  ...EXPECT_OPTIONS,
  ...TRACE_OPTIONS,
  ...CALL_OPTIONS,
};
export type GrpcCallValues = OptionValues<typeof GRPC_CALL_OPTIONS>;

/** `grpc list` and `grpc describe` (the schema may also come from files, to browse them offline). */
export const GRPC_INSPECT_OPTIONS = {
  timeout: duration('--timeout <dur>', 'deadline for the whole reflection lookup (0: none)', {
    default: 10_000,
  }),
  maxTime: duration('--max-time <dur>', 'bound on the whole command, schema lookup included'),
  ...GRPC_METADATA_OPTIONS,
  ...GRPC_SCHEMA_OPTIONS,
  ...GRPC_TLS_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type GrpcInspectValues = OptionValues<typeof GRPC_INSPECT_OPTIONS>;

/** `grpc health`. */
export const GRPC_HEALTH_OPTIONS = {
  timeout: duration('--timeout <dur>', 'deadline of the check (with --watch: to get the first status)', {
    default: 10_000,
  }),
  watch: flag('--watch', 'follow status changes until Ctrl-C or --count'),
  count: integer('--count <n>', 'with --watch: stop after n statuses', { min: 1 }),
  ...GRPC_METADATA_OPTIONS,
  ...GRPC_TLS_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type GrpcHealthValues = OptionValues<typeof GRPC_HEALTH_OPTIONS>;
