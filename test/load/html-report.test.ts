import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Render a page in headless Chromium (no network) and return the screenshot's path. */
function screenshot(page: string, dir: string): string {
  const png = join(dir, `${Date.now()}.png`);
  spawnSync(
    CHROMIUM as string,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'comms-chromium-'))}`,
      `--screenshot=${png}`,
      '--window-size=1200,1600',
      `file://${page}`,
    ],
    { timeout: 60_000, stdio: 'ignore' },
  );
  return png;
}

describe('HTML reports', () => {
  let server: Server;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'comms-html-'));

  beforeAll(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), 3));
    url = `http://127.0.0.1:${await listen(server)}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('--report html:FILE writes one self-contained page (uPlot inlined, nothing fetched)', async () => {
    const page = join(dir, 'local.html');
    const run = await runCli([
      'http',
      'get',
      url,
      '--duration',
      '2500ms',
      '-c',
      '2',
      '--report',
      `html:${page}`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/report: .*local\.html/);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?https?:/i);
    expect(html).toContain('Latency over time');
    expect(html).toContain('Latency by percentile');
    expect(html).toContain('Throughput and errors over time');
  }, 60_000);

  it('report html draws merged runs with per-run lines; headless Chromium renders the charts', async () => {
    const a = await runCli(['http', 'get', url, '--duration', '2500ms', '-c', '2', '--json']);
    const b = await runCli(['http', 'get', url, '--duration', '2s', '--rate', '50', '--json']);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const page = join(dir, 'merged.html');
    const run = await runCli(['report', 'html', join(dir, 'a.json'), join(dir, 'b.json'), '-o', page]);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('Throughput per worker');
    if (!CHROMIUM) return; // the page's content was checked above; rendering needs Chromium
    const png = screenshot(page, dir);
    expect(existsSync(png)).toBe(true);
    // A blank 1200x1600 page compresses to a few KB; drawn charts, text and grids are far larger.
    expect(statSync(png).size).toBeGreaterThan(40_000);
  }, 120_000);
});
