// A minimal @grpc/grpc-js client: inventory.Inventory/GetItem, `concurrency` calls in flight.
// `node bench/grpc-loop.mjs host:port requests concurrency` — prints {"requests","rps"}.
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const [target, total = '50000', conc = '50'] = process.argv.slice(2);
const proto = fileURLToPath(new URL('../proto/inventory.proto', import.meta.url));
const def = protoLoader.loadSync(proto, {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.inventory.Inventory(target, grpc.credentials.createInsecure());
let left = Number(total);
let ok = 0;
const t0 = performance.now();
const call = () =>
  new Promise((resolve) =>
    client.GetItem({ sku: 'A1' }, { deadline: Date.now() + 30_000 }, (err) => {
      if (!err) ok += 1;
      resolve();
    }),
  );
async function worker() {
  while (left-- > 0) await call();
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ requests: ok, rps: Math.round(ok / secs) }));
client.close();
