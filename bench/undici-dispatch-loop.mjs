// The least undici can do per request: one undici Client per connection, driven by dispatch() with a
// handler that only counts (no Agent/Pool, no request API, no body stream, no request headers).
// What HTTP load mode could cost if every layer of comms-cli's were free: the floor for its CPU.
//   node bench/undici-dispatch-loop.mjs URL requests connections [depth]
// depth > 1: that many requests in flight per connection, pipelined (autocannon's -p).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Client = require('undici/lib/dispatcher/client.js');
const [url, total = '200000', conc = '50', depthArg = '1'] = process.argv.slice(2);
const depth = Number(depthArg);
const { origin, pathname, search } = new URL(url);
// undici pipelines nothing behind a `blocking` request (its default for GET).
const opts = { origin, path: `${pathname}${search}`, method: 'GET', headers: null, blocking: depth === 1 };
let left = Number(total);
let ok = 0;
let failed;

const clients = [];
/** One loop on `client`: the next request is dispatched when the last one completes. */
function loop(client) {
  return new Promise((resolve) => {
    const handler = {
      status: 0,
      onConnect() {},
      onHeaders(status) {
        this.status = status;
        return true;
      },
      onData() {
        return true;
      },
      onComplete() {
        if (this.status === 200) ok += 1;
        next();
      },
      onError(err) {
        failed ??= err;
        next();
      },
    };
    const next = () => {
      if (left-- > 0 && failed === undefined) client.dispatch(opts, handler);
      else resolve();
    };
    next();
  });
}

/** One connection carrying `depth` loops. */
function connection() {
  const client = new Client(origin, { pipelining: depth, headersTimeout: 0, bodyTimeout: 0 });
  clients.push(client);
  return Promise.all(Array.from({ length: depth }, () => loop(client)));
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, connection));
const secs = (performance.now() - t0) / 1000;
if (failed) {
  console.error(failed);
  process.exitCode = 1;
}
console.log(JSON.stringify({ requests: ok, rps: Math.round(ok / secs) }));
await Promise.all(clients.map((c) => c.close()));
