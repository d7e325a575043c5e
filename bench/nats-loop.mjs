// Minimal @nats-io/transport-node clients, for comparison with comms-cli on the same client library.
//   node bench/nats-loop.mjs publish URL SUBJECT COUNT
//   node bench/nats-loop.mjs request URL SUBJECT REQUESTS CONCURRENCY
//   node bench/nats-loop.mjs reply   URL SUBJECT          (a responder shared by both request runs)
import { connect } from '@nats-io/transport-node';

const [mode, servers, subject, a = '1000000', b = '50'] = process.argv.slice(2);
const nc = await connect({ servers });
const payload = new TextEncoder().encode('hello');
const t0 = performance.now();
if (mode === 'publish') {
  const n = Number(a);
  for (let i = 0; i < n; i++) nc.publish(subject, payload);
  await nc.flush();
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ requests: n, rps: Math.round(n / secs) }));
  await nc.close();
} else if (mode === 'request') {
  let left = Number(a);
  let ok = 0;
  const worker = async () => {
    while (left-- > 0) {
      await nc.request(subject, payload, { timeout: 30_000 });
      ok += 1;
    }
  };
  await Promise.all(Array.from({ length: Number(b) }, worker));
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ requests: ok, rps: Math.round(ok / secs) }));
  await nc.close();
} else if (mode === 'reply') {
  const sub = nc.subscribe(subject);
  process.stdout.write('ready\n');
  // SIGTERM: close the connection; the subscription loop ends and so does the process.
  process.on('SIGTERM', () => void nc.close());
  for await (const m of sub) m.respond(m.data);
}
