import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { runCli } from '../kit/spawn-cli.js';

interface KeyPair {
  getPublicKey(): string;
  getSeed(): Uint8Array;
}
const nkeys = createRequire(import.meta.url)('@nats-io/nkeys') as { createUser(): KeyPair };

describe('nats: nkey authentication', () => {
  let server: NatsServer;
  const dir = mkdtempSync(join(tmpdir(), 'comms-nkey-'));
  const good = nkeys.createUser();
  const other = nkeys.createUser();
  const goodSeed = join(dir, 'good.nk');
  const otherSeed = join(dir, 'other.nk');

  beforeAll(async () => {
    writeFileSync(goodSeed, `${new TextDecoder().decode(good.getSeed())}\n`);
    writeFileSync(otherSeed, new TextDecoder().decode(other.getSeed()));
    server = await startNatsServer({
      jetstream: false,
      config: `authorization { users = [ { nkey: "${good.getPublicKey()}" } ] }`,
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--nkey with the registered seed connects and publishes (exit 0)', async () => {
    const r = await runCli(['nats', 'publish', 'nk.test', 'hello', '-s', server.url, '--nkey', goodSeed]);
    expect(r.code).toBe(0);
  });

  it('an unknown nkey is rejected with exit 3, and the seed never appears in output', async () => {
    const r = await runCli([
      'nats',
      'publish',
      'nk.test',
      'hello',
      '-s',
      server.url,
      '--nkey',
      otherSeed,
      '--json',
    ]);
    expect(r.code).toBe(3);
    const seed = new TextDecoder().decode(other.getSeed());
    expect(r.stdout + r.stderr).not.toContain(seed);
  });

  it('an unreadable --nkey file is a usage error (exit 2)', async () => {
    const r = await runCli([
      'nats',
      'publish',
      'nk.test',
      'hello',
      '-s',
      server.url,
      '--nkey',
      join(dir, 'missing.nk'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--nkey/);
  });
});
