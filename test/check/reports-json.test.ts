import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPORT_FORMATS,
  renderHtml,
  renderJson,
  renderJunit,
  renderReport,
  renderTap,
  writeReport,
} from '../../src/check/reports/index.js';
import { NASTY_MESSAGE, sampleEvents } from './reports-events.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reports-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NDJSON report', () => {
  it('is one event per line, in emission order, each line parsing back to the event', () => {
    const text = renderJson(sampleEvents);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(sampleEvents.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(sampleEvents)));
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(sampleEvents.map((e) => e.type));
    expect(JSON.parse(lines.at(-1)!)).toEqual({
      type: 'run',
      checks: 4,
      passed: 1,
      failed: 2,
      skipped: 1,
      ms: 5310,
      exit: 1,
    });
  });

  it('keeps a multi-line message on its line', () => {
    const text = renderJson(sampleEvents);
    const saga = text.split('\n').find((l) => l.includes('"type":"check"') && l.includes('charge'));
    expect(JSON.parse(saga!).failure.message).toBe(NASTY_MESSAGE);
  });

  it('renders nothing for no events', () => {
    expect(renderJson([])).toBe('');
  });
});

describe('writeReport', () => {
  it('writes every format to a file, the same text render gives', async () => {
    for (const format of REPORT_FORMATS) {
      const file = join(dir, `report.${format}`);
      await writeReport(format, sampleEvents, file);
      expect(readFileSync(file, 'utf8')).toBe(renderReport(format, sampleEvents));
    }
    expect(renderReport('junit', sampleEvents)).toBe(renderJunit(sampleEvents));
    expect(renderReport('tap', sampleEvents)).toBe(renderTap(sampleEvents));
    expect(renderReport('html', sampleEvents)).toBe(renderHtml(sampleEvents));
  });

  it('`-` writes to the stream given (stdout by default)', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeReport('tap', sampleEvents, '-', out);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(renderTap(sampleEvents));
  });

  it('replaces an existing file atomically, keeping its mode, through a symlink, leaving no temp file', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const file = join(sub, 'junit.xml');
    writeFileSync(file, 'old');
    chmodSync(file, 0o640);
    symlinkSync(file, join(sub, 'link.xml'));
    await writeReport('junit', sampleEvents, join(sub, 'link.xml'));
    expect(readFileSync(file, 'utf8')).toBe(renderJunit(sampleEvents));
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(sub).sort()).toEqual(['junit.xml', 'link.xml']);
  });

  it('rejects when the directory does not exist, and leaves nothing behind', async () => {
    await expect(writeReport('json', sampleEvents, join(dir, 'missing', 'r.ndjson'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
