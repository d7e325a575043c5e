import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

let server: Server;
let base = '';
const tmp = mkdtempSync(join(tmpdir(), 'cc-lazy-'));

beforeAll(async () => {
  server = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

it('`comms-cli http get` loads neither amqplib nor mqtt (lazy imports only)', async () => {
  const trace = join(tmp, 'loads.txt');
  writeFileSync(trace, '');
  const r = await runCli(['http', 'get', `${base}/`], {
    env: {
      NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
      COMMS_TRACE_FILE: trace,
    },
  });
  expect(r.code).toBe(0);
  const loaded = readFileSync(trace, 'utf8');
  expect(loaded).toMatch(/dist\/bundle\/main\.cjs/);
  expect(loaded).not.toMatch(/amqplib|node_modules\/mqtt|mqtt-packet|['"/]mqtt['"\n]/);
});

it('`comms-cli events dispatch --to exec:…` loads none of amqplib, mqtt, ws (handlers load by scheme)', async () => {
  const trace = join(tmp, 'dispatch-loads.txt');
  writeFileSync(trace, '');
  const store = join(tmp, 'store');
  const append = await runCli(['events', 'append', 'a-1', 'E', '--store', store]);
  expect(append.code).toBe(0);
  const r = await runCli(['events', 'dispatch', '--to', 'exec:cat >/dev/null', '--store', store], {
    env: {
      NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
      COMMS_TRACE_FILE: trace,
    },
  });
  expect(r.code, r.stderr).toBe(0);
  const loaded = readFileSync(trace, 'utf8');
  expect(loaded).toMatch(/dist\/bundle\/main\.cjs/);
  expect(loaded).not.toMatch(/amqplib|node_modules\/mqtt|mqtt-packet|node_modules\/ws\//);
});
