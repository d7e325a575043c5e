import type { Metadata, ServiceError } from '@grpc/grpc-js';
import type { Root, Type } from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { abortReasonToError } from '../../errors/classify.js';
import { ResponseError, UsageError } from '../../errors/comms-error.js';
import type { GrpcConnection } from './connection.js';
import { grpcErrorFrom, isGrpcStatus } from './errors.js';
import { loadShippedProto, rootFromFileDescriptors } from './schema.js';

/** Both published versions of the reflection service; the messages are identical on the wire. */
const VERSIONS = ['grpc.reflection.v1', 'grpc.reflection.v1alpha'] as const;
export type ReflectionVersion = (typeof VERSIONS)[number];

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto?: Uint8Array[] };
  list_services_response?: { service?: Array<{ name?: string }> };
  error_response?: { error_code?: number; error_message?: string };
}

const identity = (b: Buffer): Buffer => b;

/** Files one schema lookup may fetch (a real schema needs tens; a hostile server would never stop). */
export const MAX_REFLECTION_FILES = 1000;

/**
 * A client of `grpc.reflection.v1.ServerReflection` (falling back to `v1alpha`), written against
 * protobufjs descriptors rather than generated code: it lists services and fetches the file
 * descriptors that define a symbol (with their dependencies), and turns them into a protobufjs Root.
 * One bidi stream per question; the version that answered is remembered for the next.
 */
export class ReflectionClient {
  readonly #conn: GrpcConnection;
  readonly #metadata: Metadata;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal;
  #version: ReflectionVersion | undefined;

  constructor(conn: GrpcConnection, metadata: Metadata, timeoutMs: number, signal: AbortSignal) {
    this.#conn = conn;
    this.#metadata = metadata;
    this.#timeoutMs = timeoutMs;
    this.#signal = signal;
  }

  /** The version the server answered with (after the first question). */
  get version(): ReflectionVersion | undefined {
    return this.#version;
  }

  async listServices(): Promise<string[]> {
    const [res] = await this.#ask([{ list_services: '*' }]);
    return (res?.list_services_response?.service ?? [])
      .map((s) => s.name ?? '')
      .filter(Boolean)
      .sort();
  }

  /** The schema needed for `symbol` (a service, method or message), dependencies included. */
  async schemaFor(symbol: string): Promise<Root> {
    const files = new Map<string, { name?: string; dependency?: string[] }>();
    const asked = new Set<string>();
    let answer = await this.#ask([{ file_containing_symbol: symbol }], symbol);
    // Servers may send the dependencies with the file or leave them to be asked for by name.
    for (;;) {
      if (files.size + asked.size > MAX_REFLECTION_FILES)
        throw new ResponseError(
          `reflection for '${symbol}' needs more than ${MAX_REFLECTION_FILES} files: stopped (the server keeps naming new dependencies)`,
          {
            code: 'COMMS_ERR_REFLECTION_LIMIT',
            hint: 'give the schema with --proto FILE (and -I DIR) or --protoset FILE',
          },
        );
      if (this.#signal.aborted) throw abortReasonToError(this.#signal.reason);
      for (const res of answer) {
        for (const bytes of res.file_descriptor_response?.file_descriptor_proto ?? []) {
          const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as {
            name?: string;
            dependency?: string[];
          };
          files.set(file.name ?? `file${files.size}`, file);
        }
      }
      const missing = new Set<string>();
      for (const f of files.values())
        for (const dep of f.dependency ?? []) if (!files.has(dep) && !asked.has(dep)) missing.add(dep);
      if (missing.size === 0) break;
      for (const m of missing) asked.add(m);
      // A file the server cannot supply is tolerated: well-known types are filled in from protobufjs.
      answer = await this.#ask(
        [...missing].map((name) => ({ file_by_filename: name })),
        undefined,
        true,
      );
    }
    return rootFromFileDescriptors([...files.values()], 'reflection');
  }

  /** Send requests on one stream and collect one response per request. */
  async #ask(
    requests: Array<Record<string, unknown>>,
    symbol?: string,
    tolerateNotFound = false,
  ): Promise<ReflectionResponse[]> {
    const root = await loadShippedProto('grpc/reflection/v1/reflection.proto');
    const reqType = root.lookupType('grpc.reflection.v1.ServerReflectionRequest');
    const resType = root.lookupType('grpc.reflection.v1.ServerReflectionResponse');
    const versions = this.#version ? [this.#version] : VERSIONS;
    let lastUnimplemented: unknown;
    for (const version of versions) {
      try {
        const out = await this.#askVersion(version, requests, reqType, resType);
        this.#version = version;
        for (const res of out) {
          const e = res.error_response;
          if (!e) continue;
          if (tolerateNotFound && e.error_code === 5) continue;
          if (e.error_code === 5 && symbol) {
            throw new UsageError(`symbol '${symbol}' not found on the server`, {
              hint: 'list what it offers with `comms-cli grpc list <target>`',
            });
          }
          throw new UsageError(`reflection error ${e.error_code ?? ''}: ${e.error_message ?? 'unknown'}`);
        }
        return out;
      } catch (err) {
        if (isGrpcStatus(err, 'UNIMPLEMENTED')) {
          lastUnimplemented = err;
          continue;
        }
        throw err;
      }
    }
    throw new UsageError(
      `server ${this.#conn.target.display} does not offer reflection (grpc.reflection.v1 or v1alpha)`,
      {
        hint: 'give the schema with --proto FILE (and -I DIR) or --protoset FILE',
        cause: lastUnimplemented,
      },
    );
  }

  #askVersion(
    version: ReflectionVersion,
    requests: Array<Record<string, unknown>>,
    reqType: Type,
    resType: Type,
  ): Promise<ReflectionResponse[]> {
    const { client, target } = this.#conn;
    return new Promise((resolve, reject) => {
      const responses: ReflectionResponse[] = [];
      const stream = client.makeBidiStreamRequest(
        `/${version}.ServerReflection/ServerReflectionInfo`,
        identity,
        identity,
        this.#metadata,
        // 0 (--timeout 0): no deadline; the signal (Ctrl-C, --max-time) still ends it.
        { deadline: this.#timeoutMs > 0 ? Date.now() + this.#timeoutMs : Number.POSITIVE_INFINITY },
      );
      const onAbort = () => stream.cancel();
      if (this.#signal.aborted) onAbort();
      else this.#signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (b: Buffer) => {
        responses.push(resType.decode(b) as unknown as ReflectionResponse);
        if (responses.length === requests.length) stream.end();
      });
      stream.on('error', (err: ServiceError) => {
        this.#signal.removeEventListener('abort', onAbort);
        if (this.#signal.aborted) return reject(abortReasonToError(this.#signal.reason));
        reject(
          grpcErrorFrom(err, target.display, 'reflection request', {
            clientCert: this.#conn.clientCert,
            tls: this.#conn.tls,
          }),
        );
      });
      stream.on('end', () => {
        this.#signal.removeEventListener('abort', onAbort);
        resolve(responses);
      });
      for (const r of requests) stream.write(Buffer.from(reqType.encode(reqType.fromObject(r)).finish()));
    });
  }
}
