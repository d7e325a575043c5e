import { describe, expect, it } from 'vitest';
import type { CheckEvent } from '../../src/check/reports/events.js';
import { renderTap } from '../../src/check/reports/index.js';
import { NASTY_MESSAGE, sampleEvents, TRACE_ORDERS, TRACE_SAGA } from './reports-events.js';

/*
 * TAP 14, checked line by line (no TAP parser is among the dependencies): version line, plan, one
 * test point per check, YAML diagnostics indented two spaces between `---` and `...`. Every diagnostic
 * value the writer emits is JSON (a subset of YAML 1.2 flow), so each one is parsed back here.
 */

/** The YAML diagnostic blocks after each `not ok` line, parsed as `key: JSON` lines. */
function diagnostics(tap: string): Map<number, Record<string, unknown>> {
  const lines = tap.split('\n');
  const blocks = new Map<number, Record<string, unknown>>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^not ok (\d+) - /.exec(lines[i]!);
    if (!m || lines[i + 1] !== '  ---') continue;
    const block: Record<string, unknown> = {};
    let j = i + 2;
    for (; lines[j] !== '  ...'; j++) {
      const kv = /^ {2}([A-Za-z_]+): (.*)$/.exec(lines[j]!);
      if (!kv) throw new Error(`not a diagnostic line: ${JSON.stringify(lines[j])}`);
      block[kv[1]!] = JSON.parse(kv[2]!);
    }
    blocks.set(Number(m[1]), block);
    i = j;
  }
  return blocks;
}

describe('TAP report', () => {
  const tap = renderTap(sampleEvents);
  const lines = tap.split('\n');

  it('starts with the version and the plan, and ends with a newline', () => {
    expect(lines[0]).toBe('TAP version 14');
    expect(lines[1]).toBe('1..4');
    expect(tap.endsWith('\n')).toBe(true);
  });

  it('has one test point per check, numbered in order, `file › check` as the description', () => {
    const points = lines.filter((l) => /^(not )?ok \d+/.test(l));
    expect(points).toEqual([
      'ok 1 - examples/orders.check.yaml › smoke: the API and the inventory answer',
      'not ok 2 - examples/orders.check.yaml › an order is paid and the stock moves',
      'not ok 3 - examples/saga.check.yaml › reserve then charge <script>alert("x")</script> & \'q\' \\# not a directive \\\\ ]]>',
      'ok 4 - examples/saga.check.yaml › nightly export # SKIP needs the export service (skip: in the file)',
    ]);
  });

  it('every line is a version, plan, test point or a diagnostic line (nothing stray)', () => {
    let inBlock = false;
    for (const line of lines.slice(0, -1)) {
      if (inBlock) {
        if (line === '  ...') inBlock = false;
        else expect(line).toMatch(/^ {2}\S/);
        continue;
      }
      if (line === '  ---') {
        inBlock = true;
        continue;
      }
      expect(line).toMatch(/^(TAP version 14|1\.\.\d+|(not )?ok \d+ - .+)$/);
    }
    expect(inBlock).toBe(false);
    expect(lines.at(-1)).toBe('');
  });

  it('puts a YAML diagnostic block on each failure with step, message, expected, actual and traceId', () => {
    const blocks = diagnostics(tap);
    expect([...blocks.keys()]).toEqual([2, 3]);
    expect(blocks.get(2)).toMatchObject({
      message: '$.data.quantity: expected {"lt":12}, got 14',
      severity: 'fail',
      step: 'stock is below 12',
      phase: 'main',
      path: '$.data.quantity',
      expected: { lt: 12 },
      actual: 14,
      exit: 1,
      traceId: TRACE_ORDERS,
    });
    // A message with control characters and a line break stays one double-quoted scalar.
    const saga = blocks.get(3)!;
    expect(saga.message).toBe(NASTY_MESSAGE);
    expect(tap).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F]/);
    expect(saga).toMatchObject({
      step: 'charge & "confirm"',
      expected: 201,
      actual: 500,
      traceId: TRACE_SAGA,
    });
  });

  it('skipped checks have a SKIP directive and no diagnostics', () => {
    const i = lines.findIndex((l) => l.startsWith('ok 4 '));
    expect(lines[i]).toMatch(/ # SKIP \S/);
    expect(lines[i + 1]).toBe('');
  });

  it('keeps a description on one line and escapes # so it is not read as a directive', () => {
    const check: CheckEvent = {
      type: 'check',
      file: 'a.check.yaml',
      name: 'two\nlines # TODO not really',
      ok: true,
      exit: 0,
      ms: 1,
      steps: 0,
      traceId: '',
      startedAt: '2025-01-01T00:00:00.000Z',
    };
    const out = renderTap([check]).split('\n');
    expect(out[2]).toBe('ok 1 - a.check.yaml › two lines \\# TODO not really');
    expect(renderTap([])).toBe('TAP version 14\n1..0\n');
  });
});
