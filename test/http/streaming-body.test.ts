import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * Issue 10: bodies reach stdout as they arrive (a /drip endpoint or a long poll prints before it
 * closes), and a body cut off by --timeout keeps what arrived (curl -m does).
 */

let server: Server;
let base: string;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/drip') {
      // First chunk at once; the rest only when the test says so (it never does for /drip).
      open.add(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      return;
    }
    res.end('whole\n');
  });
  base = `http://127.0.0.1:${await listen(server)}`;
});

afterAll(async () => {
  killSurvivors();
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('streamed bodies', () => {
  it('the first chunk is on stdout while the response is still open', async () => {
    const cli = startCli(['http', 'get', `${base}/drip`, '--timeout', '20s']);
    await cli.waitFor(/first chunk/, 'stdout', 15_000);
    cli.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(130);
  });

  it('--timeout cuts the body: what arrived stays on stdout, exit 4', async () => {
    const r = await runCli(['http', 'get', `${base}/drip`, '--timeout', '1s']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('first chunk\n');
    expect(r.stderr).toMatch(/timed out/);
  });

  it('with --json the body is still whole in the result', async () => {
    const r = await runCli(['http', 'get', `${base}/whole`, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).body).toBe('whole\n');
  });
});
