import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp } from '../kit/serve.js';
import { runCli } from '../kit/spawn-cli.js';

describe('serve http: global fault flags', () => {
  let served: Awaited<ReturnType<typeof serveHttp>>;
  let url: string;
  beforeAll(async () => {
    served = await serveHttp(['--fail-rate', '1', '--fail-status', '502', '--delay', '50ms']);
    url = served.url;
  });
  afterAll(() => served?.stop());

  it('--fail-rate 1 answers every request with --fail-status after --delay, and logs it on stderr', async () => {
    const r = await runCli(['http', 'get', `${url}/json`, '--json']);
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as { status: number; timing: { total: number } };
    expect(res.status).toBe(502);
    // The injected delay is a floor, less the ~1 ms a Node timer may fire early as the client's clock sees it.
    expect(res.timing.total).toBeGreaterThanOrEqual(48);
    await served.proc.waitFor(/GET \/json 502/, 'stderr');
  });

  it('rejects bad fault flags with exit 2', async () => {
    const r = await runCli(['serve', 'http', '--fail-rate', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --fail-rate '2'/);
    const p = await runCli(['serve', 'http', '--port', 'eighty']);
    expect(p.code).toBe(2);
  });
});
