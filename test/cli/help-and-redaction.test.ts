import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSecretHeader, isSecretValue, redactHeaders } from '../../src/output/redact.js';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

describe('help', () => {
  it('bare comms-cli prints the help on stdout and exits 0 (as git does)', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: comms-cli/);
    expect(r.stderr).toBe('');
  });

  it('`comms-cli sub --help` prints the help of the command `sub` is an alias of, not the top-level help', async () => {
    const r = await runCli(['sub', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: comms-cli subscribe /);
    expect(r.stdout).not.toMatch(/Commands:\s+http/);
  });

  it('an alias of several nested commands and no top-level one is exit 2 naming them', async () => {
    const r = await runCli(['consume', '--help']);
    // `consume` exists only below a transport (amqp): the error names where.
    if (r.code === 0) expect(r.stdout).toMatch(/^Usage: comms-cli amqp consume/);
    else {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown command 'consume'\nhint: did you mean 'comms-cli amqp consume'/);
    }
  });
});

describe('redaction by a written list', () => {
  it('names and value shapes', () => {
    for (const name of [
      'Authorization',
      'Cookie',
      'Set-Cookie',
      'X-Api-Key',
      'x-amz-security-token',
      'db_password',
    ])
      expect(isSecretHeader(name), name).toBe(true);
    for (const name of ['Access-Control-Allow-Credentials', 'Content-Type', 'X-Request-Id', 'Vary'])
      expect(isSecretHeader(name), name).toBe(false);
    expect(isSecretValue('Bearer abcdefghijkl')).toBe(true);
    expect(isSecretValue('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig')).toBe(true);
    expect(isSecretValue('true')).toBe(false);
    expect(redactHeaders({ 'x-forwarded-auth': 'Bearer abcdefghijkl', 'x-n': '1' })).toEqual({
      'x-forwarded-auth': '[REDACTED]',
      'x-n': '1',
    });
  });

  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('set-cookie', ['session=s3cr3t; HttpOnly']);
      res.setHeader('x-upstream', 'Bearer abcdefghijklmnop');
      res.end('ok');
    });
    url = `http://127.0.0.1:${await listen(server)}/`;
  });
  afterAll(() => server.close());

  it('-v hides Set-Cookie and credential-shaped values but shows access-control-allow-credentials', async () => {
    const r = await runCli(['http', 'get', url, '-v']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('< access-control-allow-credentials: true');
    expect(r.stderr).toContain('< set-cookie: [REDACTED]');
    expect(r.stderr).toContain('< x-upstream: [REDACTED]');
  });

  it('--json redacts the same way', async () => {
    const r = await runCli(['http', 'get', url, '--json']);
    const { headers } = JSON.parse(r.stdout);
    expect(headers['access-control-allow-credentials']).toBe('true');
    expect(headers['set-cookie']).toBe('[REDACTED]');
    expect(headers['x-upstream']).toBe('[REDACTED]');
  });

  it('-i shows the headers as sent, Set-Cookie included (redaction is for -v and --json)', async () => {
    const r = await runCli(['http', 'get', url, '-i']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('< set-cookie: session=s3cr3t; HttpOnly');
  });
});
