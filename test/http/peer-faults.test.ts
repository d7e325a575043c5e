import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';

afterAll(() => killSurvivors());

describe('http: edge cases against node:http peers', () => {
  it('a body that trickles slower than --timeout times out (exit 4): the timeout covers the body', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const port = await listen(server);
    try {
      const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '--timeout', '600ms']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/timed out after 600ms \(--timeout\)/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a reset before any response is retried and then reported as unreachable (exit 3)', async () => {
    let calls = 0;
    const server = createServer((req) => {
      calls += 1;
      req.socket.destroy();
    });
    const port = await listen(server);
    try {
      const r = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--retries',
        '2',
        '--backoff',
        '5ms',
        '--json',
      ]);
      expect(r.code).toBe(3);
      expect(calls).toBe(3);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exit: 3, error: { kind: 'connect' } });
    } finally {
      server.close();
    }
  });
});

describe('a reader that goes away', () => {
  it('`comms-cli ... | head -c 10` stops quietly with exit 0', async () => {
    const server = createServer((_req, res) => res.end(Buffer.alloc(5_000_000, 'x')));
    const port = await listen(server);
    try {
      const script = `node "${CLI}" http get http://127.0.0.1:${port}/ | head -c 10; echo " status=\${PIPESTATUS[0]}"`;
      const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile('bash', ['-c', script], { env: { ...process.env, NO_COLOR: '1' } }, (_err, stdout, stderr) =>
          resolve({ stdout, stderr }),
        );
      });
      expect(r.stdout).toBe('xxxxxxxxxx status=0\n');
      expect(r.stderr).not.toMatch(/error|EPIPE|at /);
    } finally {
      server.close();
    }
  });
});
