import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportEvent } from '../../src/check/reports/events.js';
import { renderJunit } from '../../src/check/reports/index.js';
import { HOSTILE, paidSteps, sampleEvents, TRACE_ORDERS, TRACE_SAGA } from './reports-events.js';

/*
 * The JUnit report, validated by xmllint (Debian: libxml2-utils; .ci/run installs it) against the
 * JUnit schema the Jenkins xUnit plugin uses (test/fixtures/junit-10.xsd), and read back with XPath so
 * escaping is checked by a real XML parser, not by string matching.
 */

const XSD = fileURLToPath(new URL('../fixtures/junit-10.xsd', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'junit-'));
  const found = spawnSync('xmllint', ['--version']);
  if (found.error) throw new Error('xmllint is missing: apt-get install -y libxml2-utils');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function save(xml: string): string {
  const file = join(dir, `report-${++n}.xml`);
  writeFileSync(file, xml);
  return file;
}

/** xmllint --schema: the exit code and what it said. */
function validate(file: string): { code: number; out: string } {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** An XPath expression's value, as xmllint's parser reads the file. */
function xpath(file: string, expr: string): string {
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).replace(/\n$/, '');
}

describe('JUnit report', () => {
  it('validates against the JUnit XSD', () => {
    const file = save(renderJunit(sampleEvents));
    const { code, out } = validate(file);
    expect(out).toContain('validates');
    expect(code).toBe(0);
  });

  it('the fixture schema really rejects what JUnit readers reject (it is not a no-op)', () => {
    const bad = save(
      '<testsuites><testsuite name="f" tests="1" failures="0"><testcase name="x" time="-1"/><step/></testsuite></testsuites>',
    );
    const { code, out } = validate(bad);
    expect(code).not.toBe(0);
    expect(out).toMatch(/errors|time|step/);
  });

  it('has one testsuite per file and one testcase per check, classname the file, time in seconds', () => {
    const file = save(renderJunit(sampleEvents));
    expect(xpath(file, 'count(/testsuites/testsuite)')).toBe('2');
    expect(xpath(file, 'count(//testcase)')).toBe('4');
    expect(xpath(file, 'string(/testsuites/@tests)')).toBe('4');
    expect(xpath(file, 'string(/testsuites/@failures)')).toBe('2');
    expect(xpath(file, 'string(/testsuites/testsuite[1]/@name)')).toBe('examples/orders.check.yaml');
    expect(xpath(file, 'string(/testsuites/testsuite[1]/@tests)')).toBe('2');
    expect(xpath(file, 'string(/testsuites/testsuite[1]/@failures)')).toBe('1');
    expect(xpath(file, 'string(/testsuites/testsuite[2]/@skipped)')).toBe('1');
    expect(xpath(file, 'string(/testsuites/testsuite[1]/@timestamp)')).toBe('2025-03-14T09:26:53Z');
    expect(xpath(file, 'string(//testcase[2]/@classname)')).toBe('examples/orders.check.yaml');
    expect(xpath(file, 'string(//testcase[2]/@name)')).toBe('an order is paid and the stock moves');
    expect(xpath(file, 'string(//testcase[2]/@time)')).toBe('0.642');
    expect(xpath(file, 'string(//testsuite[2]/testcase[1]/@time)')).toBe('4.600');
  });

  it('names the failing step and the expectation (expected against actual) in <failure>', () => {
    const file = save(renderJunit(sampleEvents));
    const message = xpath(file, 'string(//testcase[2]/failure/@message)');
    expect(message).toContain('step "stock is below 12"');
    expect(message).toContain('$.data.quantity');
    expect(xpath(file, 'string(//testcase[2]/failure/@type)')).toBe('expectation');
    const body = xpath(file, 'string(//testcase[2]/failure)');
    expect(body).toContain('step:     stock is below 12');
    expect(body).toContain('expected: {"lt":12}');
    expect(body).toContain('actual:   14');
    expect(body).toContain('command:  grpc call 127.0.0.1:50051 inventory.Inventory/GetItem');
    expect(body).toContain(`trace id: ${TRACE_ORDERS}`);
    // The saga's failure shows its last attempts.
    const saga = xpath(file, 'string(//testsuite[2]/testcase[1]/failure)');
    expect(saga).toContain('attempt 3: failed 500 402ms');
    expect(saga).toContain('expected: 201');
    expect(saga).toContain('actual:   500');
  });

  it('marks skipped checks with <skipped> and no failure', () => {
    const file = save(renderJunit(sampleEvents));
    expect(xpath(file, 'count(//testcase[@name="nightly export"]/skipped)')).toBe('1');
    expect(xpath(file, 'count(//testcase[@name="nightly export"]/failure)')).toBe('0');
    expect(xpath(file, 'string(//testcase[@name="nightly export"]/skipped/@message)')).toContain(
      'needs the export service',
    );
    expect(xpath(file, 'count(/testsuites/testsuite[1]/testcase[1]/*[self::failure or self::skipped])')).toBe(
      '0',
    );
  });

  it('stores the trace id as a property and puts the step lines (with compensation and finally) in <system-out>', () => {
    const file = save(renderJunit(sampleEvents));
    expect(
      xpath(
        file,
        'string(//testsuite[1]/properties/property[@name="trace-id:an order is paid and the stock moves"]/@value)',
      ),
    ).toBe(TRACE_ORDERS);
    expect(xpath(file, `string(//testsuite[2]/properties/property[@value="${TRACE_SAGA}"]/@name)`)).toBe(
      `trace-id:${HOSTILE}`,
    );
    const out = xpath(file, 'string(//testcase[2]/system-out)').split('\n');
    expect(out[0]).toBe(`trace id ${TRACE_ORDERS}`);
    expect(out).toContain('main       ok    48ms  create order');
    expect(out).toContain('main       FAIL  22ms  stock is below 12 (exit 1)');
    expect(out).toContain('compensate ok    35ms  delete the order');
    expect(out).toContain('finally    ok    12ms  drain the subscription');
    expect(out.some((l) => l.includes('$ http delete http://127.0.0.1:8080/orders/77'))).toBe(true);
  });

  it('escapes markup and quotes and strips characters XML 1.0 forbids', () => {
    const xml = renderJunit(sampleEvents);
    // Nothing XML 1.0 forbids survives (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF).
    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/);
    expect(xml).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(xml).not.toContain('<script>');
    const file = save(xml);
    // A real parser reads back exactly the name (markup, quotes, `]]>` and all).
    expect(xpath(file, 'string(//testsuite[2]/testcase[1]/@name)')).toBe(HOSTILE);
    expect(xpath(file, 'string(//testsuite[2]/testcase[1]/failure/@message)')).toBe(
      'step "charge & "confirm"": charge refused: bad byte second line  end',
    );
    expect(validate(file).code).toBe(0);
  });

  it('is valid with no events at all, and with steps whose check event never came', () => {
    const empty = save(renderJunit([]));
    expect(validate(empty).code).toBe(0);
    expect(xpath(empty, 'count(//testsuite)')).toBe('0');

    const cutOff: ReportEvent[] = [...paidSteps];
    const file = save(renderJunit(cutOff));
    expect(validate(file).code).toBe(0);
    expect(xpath(file, 'count(//testcase)')).toBe('1');
    expect(xpath(file, 'string(//testcase/failure/@message)')).toContain('stock is below 12');
  });
});
