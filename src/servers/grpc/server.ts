import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { ConnectError } from '../../errors/comms-error.js';
import { PROTO_DIR } from '../../transports/grpc/proto-dir.js';
import { statusName } from '../../transports/grpc/status-codes.js';
import { BadFaultHeader, delay, type FaultDecision, FaultInjector, type FaultOptions } from './faults.js';
import { HealthState, healthImplementation } from './health.js';
import { inventoryImplementation } from './inventory.js';
import { addStatusDetails } from './rpc-status.js';

/** TLS material for the server (PEM buffers). `requireClientCert` turns on mutual TLS. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** CA that signs client certificates (mutual TLS). */
  ca?: Buffer;
  requireClientCert?: boolean;
}

export interface GrpcServerOptions extends FaultOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) = a random free port. */
  port?: number;
  tls?: ServerTls;
  /** Offer server reflection (v1 and v1alpha). Default true. */
  reflection?: boolean;
  /** A log line per call, for `serve grpc -v`. */
  onCall?(line: string): void;
}

export interface RunningGrpcServer {
  /** `host:port` to give a client. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly health: HealthState;
  /** Stop accepting, let calls in flight finish (up to `graceMs`), then force. */
  close(graceMs?: number): Promise<void>;
}

/** The demo service's .proto files, relative to `proto/`. */
export const DEMO_PROTO_FILES = ['inventory.proto', 'grpc/health/v1/health.proto'];

/**
 * The fault-injecting gRPC server of `serve grpc`, the demo and the tests: the Inventory service
 * (one method of each kind), grpc.health.v1, server reflection, and faults asked for by flags or per
 * call by metadata (see FaultInjector). Listens on loopback by default.
 */
export async function startGrpcServer(options: GrpcServerOptions = {}): Promise<RunningGrpcServer> {
  const pkgDef = protoLoader.loadSync(
    DEMO_PROTO_FILES.map((f) => join(PROTO_DIR, f)),
    { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] },
  );
  const loaded = grpc.loadPackageDefinition(pkgDef) as unknown as {
    inventory: { Inventory: grpc.ServiceClientConstructor };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const server = new grpc.Server();
  const faults = new FaultInjector(options);
  const health = new HealthState();
  health.set('', 'SERVING');
  health.set('inventory.Inventory', 'SERVING');

  const inventory = inventoryImplementation();
  server.addService(loaded.inventory.Inventory.service, withFaults(inventory, faults, options.onCall));
  server.addService(
    loaded.grpc.health.v1.Health.service,
    healthImplementation(health) as unknown as grpc.UntypedServiceImplementation,
  );
  if (options.reflection !== false) new ReflectionService(pkgDef).addToServer(server);

  const host = options.host ?? '127.0.0.1';
  const creds = options.tls
    ? grpc.ServerCredentials.createSsl(
        options.tls.ca ?? null,
        [{ cert_chain: options.tls.cert, private_key: options.tls.key }],
        options.tls.requireClientCert === true,
      )
    : grpc.ServerCredentials.createInsecure();
  const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${options.port ?? 0}`, creds, (err, p) => {
      if (err)
        reject(
          new ConnectError(`cannot listen on ${host}:${options.port ?? 0}: ${err.message}`, { cause: err }),
        );
      else resolve(p);
    });
  });
  return {
    address: `${bindHost}:${port}`,
    host,
    port,
    health,
    close(graceMs = 1000) {
      health.shutdown();
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

type Handler = (call: never, callback?: never) => void;
type FaultyCall = grpc.ServerUnaryCall<unknown, unknown> & { emit(event: 'error', err: unknown): boolean };

/** Wrap every handler of a service: wait, maybe fail, then run the real handler. */
function withFaults(
  impl: Record<string, Handler>,
  faults: FaultInjector,
  onCall?: (line: string) => void,
): grpc.UntypedServiceImplementation {
  const out: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(impl)) {
    const wrapped = (call: FaultyCall, callback?: grpc.sendUnaryData<unknown>) => {
      let decision: FaultDecision;
      try {
        decision = faults.decide(call.metadata);
      } catch (err) {
        if (!(err instanceof BadFaultHeader)) throw err;
        // A fault header we cannot read is the client's mistake: say so rather than ignore it.
        onCall?.(`${name} → INVALID_ARGUMENT (${err.message})`);
        const bad = { code: grpc.status.INVALID_ARGUMENT, details: err.message };
        if (callback) callback(bad);
        else call.emit('error', bad);
        return;
      }
      onCall?.(
        `${name}${decision.delayMs ? ` +${decision.delayMs}ms` : ''}${decision.fail ? ` → ${statusName(decision.fail.code)}` : ''}`,
      );
      void (async () => {
        if (!(await delay(decision.delayMs, call))) return;
        if (!decision.fail) return (handler as (c: unknown, cb?: unknown) => void)(call, callback);
        const err = await faultError(decision);
        if (callback) callback(err);
        else call.emit('error', err);
      })();
    };
    out[name] = wrapped as unknown as Handler;
  }
  return out as unknown as grpc.UntypedServiceImplementation;
}

async function faultError(decision: FaultDecision): Promise<Partial<grpc.StatusObject>> {
  const fail = decision.fail!;
  const metadata = new grpc.Metadata();
  const details: Parameters<typeof addStatusDetails>[3][number][] = [
    {
      type: 'ErrorInfo',
      fields: {
        reason: 'INJECTED_FAULT',
        domain: 'comms-cli.serve',
        metadata: { code: statusName(fail.code) },
      },
    },
  ];
  if (fail.retryAfterMs !== undefined) {
    const s = Math.floor(fail.retryAfterMs / 1000);
    details.push({
      type: 'RetryInfo',
      fields: { retry_delay: { seconds: s, nanos: Math.round((fail.retryAfterMs - s * 1000) * 1e6) } },
    });
  }
  await addStatusDetails(metadata, fail.code, fail.message, details);
  return { code: fail.code, details: fail.message, metadata };
}
