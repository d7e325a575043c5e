import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/** The package as a whole: version, help, unknown commands, what a command loads. */
let served: Awaited<ReturnType<typeof serveHttp>>;
let base: string;
let tmp: string;

beforeAll(async () => {
  served = await serveHttp();
  base = served.url;
  tmp = mkdtempSync(join(tmpdir(), 'comms-http-test-'));
});

afterAll(async () => {
  await served?.stop();
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the package', () => {
  it('--version, --help and every subcommand help show usage with examples', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    for (const args of [[], ['http'], ['serve'], ['serve', 'http'], ['demo']]) {
      const h = await runCli([...args, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Usage: comms-cli/);
      expect(h.stdout).toMatch(/Examples:\n(\s+\$ comms-cli .+\n){2,}/);
    }
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('`comms-cli http` never loads gRPC or NATS code', async () => {
    const trace = join(tmp, 'loads.txt');
    writeFileSync(trace, '');
    const r = await runCli(['http', 'get', `${base}/json`], {
      env: {
        NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
        COMMS_TRACE_FILE: trace,
      },
    });
    expect(r.code).toBe(0);
    const loaded = readFileSync(trace, 'utf8');
    expect(loaded).toMatch(/dist\/bundle\/main\.cjs/); // the trace works
    // Option tables of other commands may load (they are plain data); their libraries must not.
    expect(loaded).not.toMatch(/@grpc|grpc-js|proto-loader|protobufjs|@nats-io|nkeys/);
  });
});
