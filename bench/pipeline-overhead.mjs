// Per-call overhead of the shared middleware and of load-mode measurement, with a transport that
// does nothing (resolves at once), so only comms-cli's own work is timed. Run after `npm run build`:
//   node bench/pipeline-overhead.mjs [calls]

import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';

const { CallPipeline, DEFAULT_RESILIENCE } = await import('../dist/core/run-call.js');
const { runLoad } = await import('../dist/load/runner.js');
const { Output, DEFAULT_OUTPUT } = await import('../dist/output/output.js');

const N = Number(process.argv[2] ?? 200_000);
const reply = { status: 200, bytes: 2 };
const transport = {
  kind: 'http',
  attempt: () => Promise.resolve(reply),
  classify: (o) =>
    o.error
      ? { ok: false, retryable: true, peerFault: true, error: o.error }
      : { ok: true, retryable: false, peerFault: false, status: 200 },
  describe: () => ({}),
  close: async () => {},
};
const call = { target: 'http://127.0.0.1/', operation: 'GET' };

function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function measure(name, fn) {
  await fn(Math.min(20_000, N)); // warm the JIT
  const t0 = performance.now();
  const c0 = cpu();
  await fn(N);
  const wall = performance.now() - t0;
  const c = cpu() - c0;
  const row = {
    name,
    calls: N,
    nsPerCall: Math.round((wall * 1e6) / N),
    cpuNsPerCall: Math.round((c * 1e6) / N),
  };
  console.log(JSON.stringify(row));
  return row;
}

const ac = new AbortController();
const rows = [];
rows.push(
  await measure('transport.attempt only (50 in flight)', async (n) => {
    let i = 0;
    const worker = async () => {
      while (i++ < n) await transport.attempt(call, {});
    };
    await Promise.all(Array.from({ length: 50 }, worker));
  }),
);
for (const [label, opts] of [
  ['pipeline.run, default (30s timeout)', {}],
  ['pipeline.run, --retries 2 --breaker 5', { retries: 2, breaker: 5 }],
]) {
  const pipeline = new CallPipeline({ ...DEFAULT_RESILIENCE, ...opts }, ac.signal);
  rows.push(
    await measure(label, async (n) => {
      let i = 0;
      const worker = async () => {
        while (i++ < n) await pipeline.run(transport, call);
      };
      await Promise.all(Array.from({ length: 50 }, worker));
    }),
  );
}
{
  // Load mode's path: callbacks instead of an awaited promise per call, reply fields not described.
  const pipeline = new CallPipeline(DEFAULT_RESILIENCE, ac.signal);
  rows.push(
    await measure('pipeline.runThen, default, describe off (load mode)', (n) => {
      let i = 0;
      const worker = () =>
        new Promise((resolve, reject) => {
          const receiver = {
            done: () => receiver.next(),
            failed: reject,
            next() {
              if (i++ >= n) return resolve();
              pipeline.runThen(transport, call, { describe: false }, receiver);
            },
          };
          receiver.next();
        });
      return Promise.all(Array.from({ length: 50 }, worker));
    }),
  );
}
const sink = new PassThrough();
sink.resume();
const output = new Output({ ...DEFAULT_OUTPUT, json: true }, sink, sink);
rows.push(
  await measure('runLoad -c 50 (pipeline + checks + histogram)', async (n) => {
    const pipeline = new CallPipeline(DEFAULT_RESILIENCE, ac.signal);
    await runLoad({
      transport,
      makeCall: () => call,
      pipeline,
      plan: {
        requests: n,
        concurrency: 50,
        warmupMs: 0,
        gates: [],
        jsonAll: false,
        abortOnFail: false,
        reports: [],
      },
      output,
      signal: ac.signal,
      checks: [],
      replyBytes: (r) => r.bytes,
    });
  }),
);
export default rows;
