import { type Command, Option } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addCallOptions, addOptions, OUTPUT_OPTIONS, type OutputFlags } from '../options.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Where the schema comes from: .proto files, a protoset, or (neither) server reflection. */
export interface GrpcSchemaFlags {
  proto?: string[];
  importPath?: string[];
  protoset?: string[];
}

/** Transport security: plaintext unless one of these (or a grpcs:// target) asks for TLS. */
export interface GrpcTlsFlagSet {
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  authority?: string;
  servername?: string;
}

/** Request metadata (also sent on reflection requests). */
export interface GrpcMetadataFlags {
  header?: string[];
}

/** Flags of `grpc call`. */
export interface GrpcCallFlags extends GrpcSchemaFlags, GrpcTlsFlagSet, GrpcMetadataFlags {
  data?: string;
  emitDefaults?: boolean;
  retryOn?: string;
}

/** Flags of `grpc list/describe` (the schema may also come from files, to browse them offline). */
export interface GrpcInspectFlags extends GrpcSchemaFlags, GrpcTlsFlagSet, GrpcMetadataFlags, OutputFlags {
  timeout?: string;
}

/** Flags of `grpc health`. */
export interface GrpcHealthFlags extends GrpcTlsFlagSet, GrpcMetadataFlags, OutputFlags {
  timeout?: string;
  watch?: boolean;
  count?: string;
}

function addSchemaOptions(cmd: Command): Command {
  return cmd
    .option('--proto <file>', 'schema from a .proto file (repeatable); default: server reflection', collect)
    .option('-I, --import-path <dir>', 'folder to search for .proto imports (repeatable)', collect)
    .option('--protoset <file>', 'schema from a compiled FileDescriptorSet (repeatable)', collect);
}

function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls', 'use TLS (plaintext is the default; grpcs:// also turns it on)')
    .option('--cacert <file>', 'trust this CA certificate (PEM); implies --tls')
    .option('--cert <file>', 'client certificate for mutual TLS (PEM)')
    .option('--key <file>', 'client private key for mutual TLS (PEM)')
    .option('-k, --insecure', 'TLS without verifying the server certificate')
    .option('--servername <name>', 'name to verify in the server certificate (and send as SNI)')
    .option('--authority <authority>', 'the :authority header (virtual host) to send');
}

function addMetadataOption(cmd: Command): Command {
  return cmd.option(
    '-H, --header <metadata>',
    "request metadata 'key: value' (repeatable; -bin keys take base64)",
    collect,
  );
}

/**
 * `comms-cli grpc call|list|describe|health`: declarations only. Every action imports the gRPC code
 * (grpc-js, protobufjs) when it runs, so other commands never load it.
 */
export function registerGrpc(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  const grpc = program
    .command('grpc')
    .description('gRPC: call any method (unary and streaming), list/describe via reflection, health checks')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc list 127.0.0.1:50051
  $ comms-cli grpc call 127.0.0.1:50051 inventory.Inventory/GetItem -d '{"sku":"A1"}'
  $ comms-cli grpc health 127.0.0.1:50051 --watch`,
    );

  const call = grpc
    .command('call')
    .description(
      'call a method: unary, server, client or bidi streaming (schema from reflection, --proto or --protoset)',
    )
    .argument('<target>', 'host:port (plaintext), grpcs://host[:port] (TLS) or unix:/path')
    .argument('<method>', 'pkg.Service/Method (or pkg.Service.Method)')
    .option(
      '-d, --data <json>',
      'request JSON: text, @file or @- (stdin); streams take NDJSON or concatenated objects',
    )
    .option('--emit-defaults', 'print zero values in responses (proto3 JSON omits them)')
    .addOption(
      new Option(
        '--retry-on <codes>',
        "status codes to retry besides UNAVAILABLE, e.g. 'RESOURCE_EXHAUSTED,ABORTED'",
      ),
    );
  addMetadataOption(call);
  addSchemaOptions(call);
  addTlsOptions(call);
  call
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc call 127.0.0.1:50051 inventory.Inventory/GetItem -d '{"sku":"A1"}' --retries 3 --timeout 2s
  $ comms-cli grpc call 127.0.0.1:50051 inventory.Inventory/ListItems -d '{"category":"TOOLS"}' --json | jq -r 'select(.type=="message") | .data.name'
  $ printf '{"sku":"A1","quantity":1}\\n{"sku":"C1","quantity":2}\\n' | comms-cli grpc call --proto inventory.proto -I proto 127.0.0.1:50051 inventory.Inventory/Reserve

Streams: server-streamed responses print as they arrive; client and bidi streams read request
messages from -d @file or stdin as they come. Exit: 0 OK, 1 non-OK status, 2 bad input or unknown
method, 3 unreachable/TLS, 4 deadline, 5 breaker open.`,
    )
    .action(async (target: string, method: string, flags: GrpcCallFlags) => {
      const { runGrpcCall } = await import('../../transports/grpc/commands/call.js');
      setExit(await runGrpcCall(target, method, flags as never, ctx));
    });
  addCallOptions(call);

  const list = grpc
    .command('list')
    .description('list services, or the methods of one service with their kinds (server reflection)')
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('[service]', 'a service to list the methods of')
    .option('--timeout <dur>', 'deadline for the reflection requests', '10s');
  addMetadataOption(list);
  addSchemaOptions(list);
  addTlsOptions(list);
  list
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc list 127.0.0.1:50051
  $ comms-cli grpc list 127.0.0.1:50051 inventory.Inventory
  $ comms-cli grpc list grpcs://api.example.com --json`,
    )
    .action(async (target: string, service: string | undefined, flags: GrpcInspectFlags) => {
      const { runGrpcList } = await import('../../transports/grpc/commands/inspect.js');
      setExit(await runGrpcList(target, service, flags, ctx));
    });
  addOptions(list, OUTPUT_OPTIONS);

  const describe = grpc
    .command('describe')
    .description(
      'print a service, method or message in .proto syntax (server reflection; --json for the descriptor)',
    )
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('<symbol>', 'pkg.Service, pkg.Service.Method (or /Method) or pkg.Message')
    .option('--timeout <dur>', 'deadline for the reflection requests', '10s');
  addMetadataOption(describe);
  addSchemaOptions(describe);
  addTlsOptions(describe);
  describe
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Inventory
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Item
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Inventory/GetItem --json`,
    )
    .action(async (target: string, symbol: string, flags: GrpcInspectFlags) => {
      const { runGrpcDescribe } = await import('../../transports/grpc/commands/inspect.js');
      setExit(await runGrpcDescribe(target, symbol, flags, ctx));
    });
  addOptions(describe, OUTPUT_OPTIONS);

  const health = grpc
    .command('health')
    .description(
      'check grpc.health.v1: exit 0 SERVING, 1 NOT_SERVING/UNKNOWN/SERVICE_UNKNOWN, 3 unreachable, 4 timeout',
    )
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('[service]', "service to check (default '': the whole server)")
    .option('--timeout <dur>', 'deadline of the check (with --watch: to get the first status)', '10s')
    .option('--watch', 'follow status changes until Ctrl-C or --count')
    .option('--count <n>', 'with --watch: stop after n statuses');
  addMetadataOption(health);
  addTlsOptions(health);
  health
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc health 127.0.0.1:50051
  $ comms-cli grpc health 127.0.0.1:50051 inventory.Inventory --timeout 1s
  $ comms-cli grpc health 127.0.0.1:50051 --watch --json`,
    )
    .action(async (target: string, service: string | undefined, flags: GrpcHealthFlags) => {
      const { runGrpcHealth } = await import('../../transports/grpc/commands/health.js');
      setExit(await runGrpcHealth(target, service, flags, ctx));
    });
  addOptions(health, OUTPUT_OPTIONS);
}
