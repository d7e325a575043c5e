// A minimal undici client: the same library comms-cli's HTTP transport uses, with nothing of
// comms-cli's around it. `node bench/undici-loop.mjs URL requests concurrency`
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Agent = require('undici/lib/dispatcher/agent.js');
const request = require('undici/lib/api/api-request.js');
const [url, total = '200000', conc = '50'] = process.argv.slice(2);
const agent = new Agent({ connections: Number(conc), pipelining: 1 });
const { origin, pathname } = new URL(url);
let left = Number(total);
let ok = 0;
const t0 = performance.now();
async function worker() {
  while (left-- > 0) {
    const res = await request.call(agent, { origin, path: pathname, method: 'GET' });
    for await (const _ of res.body);
    if (res.statusCode === 200) ok += 1;
  }
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ requests: ok, rps: Math.round(ok / secs) }));
await agent.close();
