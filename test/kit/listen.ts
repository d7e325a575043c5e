import type { AddressInfo } from 'node:net';

/** Anything with node's server `listen`/`address` (node:http, node:https, node:http2 servers). */
interface Listenable {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): AddressInfo | string | null;
}

/** Listen on a random loopback port and return it. */
export async function listen(server: Listenable): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}
