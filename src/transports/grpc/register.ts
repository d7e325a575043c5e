import { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { GRPC_CALL_OPTIONS, GRPC_HEALTH_OPTIONS, GRPC_INSPECT_OPTIONS } from './flags.js';

/**
 * `comms-cli grpc call|list|describe|health`: declarations only. The option tables are parsed into
 * typed values here, at the edge; each action imports its runner (and with it grpc-js and protobufjs)
 * only when it runs, so other commands never load gRPC code.
 */
export function register(program: Command, ctx: CommandContext): void {
  const grpc = new GrpcurlHabits('grpc');
  grpc.copyInheritedSettings(program);
  program.addCommand(grpc);
  grpc
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
    .action(async (target: string, method: string, _opts: unknown, self: Command) => {
      const { grpcCallPlanFrom, runGrpcCall } = await import('./commands/call.js');
      const plan = grpcCallPlanFrom(target, method, readOptions(GRPC_CALL_OPTIONS, self.opts()));
      ctx.setExit(await runGrpcCall(plan, ctx));
    });
  addOptions(call, GRPC_CALL_OPTIONS);

  const list = grpc
    .command('list')
    .description('list services, or the methods of one service with their kinds (server reflection)')
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('[service]', 'a service to list the methods of')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc list 127.0.0.1:50051
  $ comms-cli grpc list 127.0.0.1:50051 inventory.Inventory
  $ comms-cli grpc list grpcs://api.example.com --json`,
    )
    .action(async (target: string, service: string | undefined, _opts: unknown, self: Command) => {
      const { grpcInspectPlanFrom, runGrpcList } = await import('./commands/inspect.js');
      const plan = grpcInspectPlanFrom(target, readOptions(GRPC_INSPECT_OPTIONS, self.opts()));
      ctx.setExit(await runGrpcList(plan, service, ctx));
    });
  addOptions(list, GRPC_INSPECT_OPTIONS);

  const describe = grpc
    .command('describe')
    .description(
      'print a service, method or message in .proto syntax (server reflection; --json for the descriptor)',
    )
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument(
      '[symbol]',
      'pkg.Service, pkg.Service.Method (or /Method) or pkg.Message (default: every service)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc describe 127.0.0.1:50051                      # every service
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Inventory
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Item
  $ comms-cli grpc describe 127.0.0.1:50051 inventory.Inventory/GetItem --json`,
    )
    .action(async (target: string, symbol: string | undefined, _opts: unknown, self: Command) => {
      const { grpcInspectPlanFrom, runGrpcDescribe } = await import('./commands/inspect.js');
      const plan = grpcInspectPlanFrom(target, readOptions(GRPC_INSPECT_OPTIONS, self.opts()));
      ctx.setExit(await runGrpcDescribe(plan, symbol, ctx));
    });
  addOptions(describe, GRPC_INSPECT_OPTIONS);

  const template = grpc
    .command('template')
    .description("print a JSON skeleton of a method's request message (grpcurl's -msg-template), for -d")
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('<method>', 'pkg.Service/Method (or pkg.Service.Method), or a message pkg.Message')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc template 127.0.0.1:50051 inventory.Inventory/GetItem
  $ comms-cli grpc template 127.0.0.1:50051 inventory.Inventory/GetItem > req.json   # edit, then:
  $ comms-cli grpc call 127.0.0.1:50051 inventory.Inventory/GetItem -d @req.json`,
    )
    .action(async (target: string, method: string, _opts: unknown, self: Command) => {
      const { grpcInspectPlanFrom, runGrpcTemplate } = await import('./commands/inspect.js');
      const plan = grpcInspectPlanFrom(target, readOptions(GRPC_INSPECT_OPTIONS, self.opts()));
      ctx.setExit(await runGrpcTemplate(plan, method, ctx));
    });
  addOptions(template, GRPC_INSPECT_OPTIONS);

  const health = grpc
    .command('health')
    .description(
      'check grpc.health.v1: exit 0 SERVING, 1 NOT_SERVING/UNKNOWN/SERVICE_UNKNOWN, 3 unreachable, 4 timeout',
    )
    .argument('<target>', 'host:port, grpcs://host[:port] or unix:/path')
    .argument('[service]', "service to check (default '': the whole server)")
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli grpc health 127.0.0.1:50051
  $ comms-cli grpc health 127.0.0.1:50051 inventory.Inventory --timeout 1s
  $ comms-cli grpc health 127.0.0.1:50051 --watch --json`,
    )
    .action(async (target: string, service: string | undefined, _opts: unknown, self: Command) => {
      const { grpcHealthPlanFrom, runGrpcHealth } = await import('./commands/health.js');
      const plan = grpcHealthPlanFrom(target, service, readOptions(GRPC_HEALTH_OPTIONS, self.opts()));
      ctx.setExit(await runGrpcHealth(plan, ctx));
    });
  addOptions(health, GRPC_HEALTH_OPTIONS);
}

/**
 * grpcurl spells its long flags with one dash (`-plaintext`, `-proto FILE`, `-import-path DIR`).
 * commander reads `-plaintext` as a bundle of short flags, so before parsing, a one-dash word that
 * names one of this command's long flags (`-plaintext` -> `--plaintext`) is read as that flag.
 * Everything else (short flags, bundles, values) is left alone.
 */
class GrpcurlHabits extends Command {
  override createCommand(name?: string): Command {
    return new GrpcurlHabits(name);
  }

  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const longs = new Set(this.options.map((o) => o.long).filter((l): l is string => l !== undefined));
    return super.parseOptions(
      args.map((arg) => {
        const m = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(arg);
        return m && longs.has(`--${m[1]}`) ? `-${arg}` : arg;
      }),
    );
  }
}
