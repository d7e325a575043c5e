// Minimal `ws` clients, for comparison with comms-cli on the same client library and server.
//   node bench/ws-loop.mjs echo      URL MESSAGES CONNECTIONS   (round trips, one in flight per connection)
//   node bench/ws-loop.mjs receive   URL COUNT                  (print COUNT messages, then exit)
//   node bench/ws-loop.mjs publish   URL COUNT                  (send COUNT messages, then close)
import WebSocket from 'ws';

const [mode, url, a = '10000', b = '50'] = process.argv.slice(2);
const open = () =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

if (mode === 'echo') {
  let left = Number(a);
  const sockets = await Promise.all(Array.from({ length: Number(b) }, open));
  let ok = 0;
  const t0 = performance.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          const next = () => {
            if (left <= 0) return resolve();
            left -= 1;
            ws.send('hello');
          };
          ws.on('message', () => {
            ok += 1;
            next();
          });
          next();
        }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ requests: ok, rps: Math.round(ok / secs) }));
  for (const ws of sockets) ws.close();
} else if (mode === 'receive') {
  const count = Number(a);
  const ws = await open();
  process.stderr.write('connected\n');
  let n = 0;
  ws.on('message', (data) => {
    process.stdout.write(`${data}\n`);
    if (++n >= count) ws.close();
  });
} else if (mode === 'publish') {
  const count = Number(a);
  const ws = await open();
  ws.on('message', () => {});
  for (let i = 1; i <= count; i++) {
    // Respect backpressure: wait for the socket to drain now and then.
    if (ws.bufferedAmount > 1 << 20) await new Promise((r) => ws.send(`m ${i}`, r));
    else ws.send(`m ${i}`);
  }
  await new Promise((r) => ws.send('last', r));
  ws.close();
}
