/*
 * Types for the three undici modules the HTTP adapter imports directly (see adapter.ts for why it
 * does not import the package index). They are the public classes and functions, re-typed from
 * undici's own declarations.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/core/connect.js' {
  import type { buildConnector } from 'undici';

  const build: typeof buildConnector;
  export default build;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  const request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module 'undici/lib/dispatcher/client-h1.js' {
  /** Attaches HTTP/1 parsing to a connected socket; compiles the llhttp WebAssembly on first use. */
  const connectH1: (client: object, socket: object) => unknown;
  export default connectH1;
}

declare module 'undici/lib/core/util.js' {
  /** Reads `timeout=N` from a Keep-Alive header value (ms), with a regexp. */
  export function parseKeepAliveTimeout(value: string): number | null;
  /** Raw header pairs (undici's handler interface) to an object keyed by lower-cased name. */
  export function parseHeaders(
    headers: Buffer[] | string[],
    obj?: Record<string, string | string[]>,
  ): Record<string, string | string[]>;
  const util: { parseKeepAliveTimeout: typeof parseKeepAliveTimeout; parseHeaders: typeof parseHeaders };
  export default util;
}

declare module 'undici/lib/dispatcher/client.js' {
  import type { Client } from 'undici';

  const ClientClass: typeof Client;
  export default ClientClass;
}
