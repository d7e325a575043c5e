// The benchmark's target: a plain node:http server, the same for every client. Prints its URL.
import { createServer } from 'node:http';

const body = Buffer.from('hello world\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`http://127.0.0.1:${port}/\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(); // the process ends when the server is closed
});
