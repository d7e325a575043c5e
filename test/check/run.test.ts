import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';
import { checkDir, events } from './kit.js';

let http: Awaited<ReturnType<typeof serveHttp>>;
let nats: NatsServer;

beforeAll(async () => {
  [http, nats] = await Promise.all([serveHttp(), startNatsServer()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([http?.stop(), nats?.stop()]);
  killSurvivors();
});

const header = (withNats = false) =>
  `vars:\n  api: ${http.url}\n  bus: ${nats.url}\ndefaults:\n${withNats ? '  nats: {server: "{{bus}}"}\n' : ''}`;

describe('check: running steps', () => {
  it('captures, matchers, {{steps.ID.PATH}}, vars precedence, secrets redacted, if, skip, each', async () => {
    const dir = checkDir({
      'vars.yaml': 'who: from-file\nwhere: file\n',
      'a.check.yaml': `${header()}  timeout: 5s
secrets: [hidden]
checks:
  - name: features
    vars: {who: check, where: check, hidden: s3cr3t-value, api_token: tok-abc-123}
    steps:
      - id: first
        http: {method: post, url: "{{api}}/echo?who={{who}}&where={{where}}", data: {n: 5, tags: [a, b]}, header: {X-Hidden: "{{hidden}}", Authorization: "Bearer {{api_token}}"}}
        capture: {method: $.body.method, n: {path: $.body.body, regex: '"n":(\\d+)'}}
        expect:
          $.status: {gte: 200, lt: 300}
          $.body.query.who: cli
          $.body.query.where: file
          $.body.headers.x-hidden: s3cr3t-value
          $.body.headers.TRACEPARENT: /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/
          $.body.body: {contains: '"tags"', matches: '^\\{', type: string, length: {gt: 5}}
          $.nothing: {exists: false}
      - http: {method: get, url: "{{api}}/echo?m={{method}}&n={{n}}&s={{steps.first.body.method}}"}
        expect: {$.body.query: {eq: {m: POST, n: "5", s: POST}}}
      - if: "{{env.CHECK_TEST_FLAG}}"
        http: {method: get, url: "{{api}}/status/500"}
      - exec: {command: "printf '{\\"tp\\":\\"%s\\"}' \\"$TRACEPARENT\\"", shell: true}
        expect: {$.data.tp: /^00-/}
  - name: skipped one
    skip: not today
    steps: [{http: {method: get, url: "{{api}}/status/500"}}]
  - name: rows
    each: [{code: 200}, {code: 204}]
    steps:
      - http: {method: get, url: "{{api}}/status/{{code}}"}
        expect: {$.status: "{{code}}"}
`,
    });
    const r = await runCli(
      ['check', 'a.check.yaml', '--var', 'who=cli', '--var-file', 'vars.yaml', '--json'],
      {
        cwd: dir,
        env: { CHECK_TEST_FLAG: 'off' },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    const checks = ev.filter((e) => e.type === 'check');
    expect(checks.map((c) => [c.name, c.ok, c.skipped])).toEqual([
      ['features', true, undefined],
      ['skipped one', true, 'not today'],
      ['rows [code=200]', true, undefined],
      ['rows [code=204]', true, undefined],
    ]);
    expect(ev.at(-1)).toMatchObject({ type: 'run', checks: 4, passed: 3, failed: 0, skipped: 1 });
    const steps = ev.filter((e) => e.type === 'step' && e.check === 'features');
    expect(steps[2]).toMatchObject({ skipped: true, ok: true });
    expect(r.stdout).not.toContain('s3cr3t-value');
    expect(r.stdout).not.toContain('tok-abc-123');
    expect(r.stdout).toContain('[REDACTED]');
    // One trace per check: every step's traceparent carries the check's trace id.
    const traceId = checks[0]?.traceId as string;
    expect(JSON.stringify(steps[0]?.result)).toContain(traceId);
  }, 60_000);

  it('background + await + none-within over NATS; await timeout is exit 4 with the closest miss', async () => {
    const dir = checkDir({
      'b.check.yaml': `${header(true)}checks:
  - name: await
    steps:
      - id: sub
        nats.subscribe: {subject: "t.>"}
        background: true
      - nats.publish: {subject: t.a, payload: {n: 1}}
      - nats.publish: {subject: t.b, payload: {n: 2}}
      - await: sub
        expect: {$.data.n: 2}
        within: 5s
      - await: sub
        none-within: 300ms
        expect: {$.data.n: 2}
      - await: sub
        within: 5s
        capture: {first: $.subject}
      - await: sub
        within: 300ms
        expect: {$.data.n: 9}
`,
    });
    const r = await runCli(['check', 'b.check.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(4);
    const steps = events(r.stdout).filter((e) => e.type === 'step');
    expect(steps.map((s) => s.ok)).toEqual([true, true, true, true, true, true, false]);
    expect(steps[5]?.result).toMatchObject({ subject: 't.a' });
    expect(r.stderr).toMatch(/0 of 1 matching object within 300ms/);
  }, 60_000);

  it('until never holding is exit 4; a missing capture path names the keys; a failing expect-exit', async () => {
    const dir = checkDir({
      'c.check.yaml': `${header().replace('defaults:\n', '')}checks:
  - name: poll
    steps:
      - http: {method: get, url: "{{api}}/status/200"}
        until: {$.status: 201}
        every: 100ms
        within: 600ms
  - name: capture
    steps:
      - http: {method: get, url: "{{api}}/health"}
        capture: {x: $.body.nope}
  - name: expected 404
    steps:
      - http: {method: get, url: "{{api}}/status/404"}
        expect-exit: 1
        expect: {$.status: 404}
  - name: exec missing
    steps:
      - exec: no-such-program-here --x
`,
    });
    const r = await runCli(['check', 'c.check.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(4);
    const checks = events(r.stdout).filter((e) => e.type === 'check');
    expect(checks.map((c) => c.exit)).toEqual([4, 1, 0, 2]);
    expect(r.stderr).toMatch(/until never held within 600ms/);
    expect(r.stderr).toMatch(/capture x: \$\.body\.nope matched nothing; the result has .*status/);
    expect(r.stderr).toMatch(/exec: program 'no-such-program-here' not found/);
  }, 60_000);

  it('--filter, --tag, --fail-fast, --report json:FILE, an unavailable report format', async () => {
    const dir = checkDir({
      'd.check.yaml': `${header().replace('defaults:\n', '')}checks:
  - name: one fails
    tags: [a]
    steps: [{http: {method: get, url: "{{api}}/status/503", retries: 0}}]
  - name: two
    tags: [b]
    steps: [{http: {method: get, url: "{{api}}/health"}}]
`,
    });
    const ff = await runCli(['check', 'd.check.yaml', '--fail-fast', '--report', 'json:out.ndjson'], {
      cwd: dir,
    });
    expect(ff.code).toBe(1);
    const report = events(readFileSync(join(dir, 'out.ndjson'), 'utf8'));
    expect(report.filter((e) => e.type === 'check').map((c) => [c.name, c.skipped])).toEqual([
      ['one fails', undefined],
      ['two', 'fail-fast'],
    ]);
    const tag = await runCli(['check', 'd.check.yaml', '--tag', '!a', '--json'], { cwd: dir });
    expect(tag.code).toBe(0);
    expect(
      events(tag.stdout)
        .filter((e) => e.type === 'check')
        .map((c) => c.name),
    ).toEqual(['two']);
    const filter = await runCli(['check', 'd.check.yaml', '--filter', 'fails$', '--list'], { cwd: dir });
    expect(filter.stdout.trim()).toBe('d › one fails  [a]');
    const bad = await runCli(['check', 'd.check.yaml', '--report', 'xml:x'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--report xml: not available');
  }, 60_000);

  it('Ctrl-C stops the running step, runs the armed compensation and finally, exits 130', async () => {
    const dir = checkDir({
      'e.check.yaml': `${header().replace('defaults:\n', '')}checks:
  - name: interrupted
    steps:
      - http: {method: post, url: "{{api}}/status/201"}
        compensate: {name: undo, http: {method: get, url: "{{api}}/health"}}
      - name: slow
        exec: {command: "touch started && exec sleep 20", shell: true}
    finally:
      - name: cleanup
        http: {method: get, url: "{{api}}/health"}
  - name: never started
    steps: [{http: {method: get, url: "{{api}}/health"}}]
`,
    });
    const p = startCli(['check', 'e.check.yaml', '--json', '--report', 'json:r.ndjson'], { cwd: dir });
    // The slow step is in flight once its marker file exists.
    const t0 = Date.now();
    while (!existsSync(join(dir, 'started')) && Date.now() - t0 < 20_000)
      await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGINT');
    const stopAt = Date.now();
    const { code } = await p.exited;
    expect(code).toBe(130);
    expect(Date.now() - stopAt).toBeLessThan(15_000);
    const ev = events(readFileSync(join(dir, 'r.ndjson'), 'utf8'));
    const steps = ev.filter((e) => e.type === 'step');
    expect(steps.map((s) => [s.step, s.phase])).toEqual([
      [expect.stringContaining('post'), 'main'],
      ['slow', 'main'],
      ['undo', 'compensate'],
      ['cleanup', 'finally'],
    ]);
    const checks = ev.filter((e) => e.type === 'check');
    expect(checks.map((c) => [c.exit, c.skipped])).toEqual([
      [130, undefined],
      [0, 'interrupted before it started'],
    ]);
  }, 60_000);

  it('single commands take --traceparent auto|VALUE', async () => {
    const tp = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    const r = await runCli(['http', 'get', `${http.url}/echo`, '--traceparent', tp, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).body.headers.traceparent).toBe(tp);
    const auto = await runCli(['http', 'get', `${http.url}/echo`, '--traceparent', 'auto', '--json']);
    expect(JSON.parse(auto.stdout).body.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const bad = await runCli(['http', 'get', `${http.url}/echo`, '--traceparent', 'nope']);
    expect(bad.code).toBe(2);
  }, 30_000);
});

/** A loopback server that counts what it receives and answers {method, url} as JSON. */
let received = 0;
const counting = createServer((req, res) => {
  received += 1;
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
});
let echo = '';
beforeAll(async () => {
  echo = `http://127.0.0.1:${await listen(counting)}`;
});
afterAll(() => counting.close());

describe('check: --report paths', () => {
  it('a report whose directory does not exist is exit 2 before anything is sent, one line', async () => {
    const dir = checkDir({
      'r.check.yaml': `checks:
  - name: one
    steps: [{http: {method: get, url: "${echo}/one"}}]
`,
    });
    const before = received;
    const r = await runCli(
      ['check', 'r.check.yaml', '--report', 'junit:missing/x.xml', '--report', 'tap:-'],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: cannot write --report file 'missing/x.xml': no such directory\n");
    const isDir = await runCli(['check', 'r.check.yaml', '--report', `html:${dir}`], { cwd: dir });
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toBe(`error: cannot write --report file '${dir}': is a directory\n`);
    expect(received).toBe(before);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it("a report lost at the end does not hide a failed check: the check's exit stands, the error line names the report", async () => {
    const dir = checkDir({
      'both.check.yaml': `checks:
  - name: the report directory goes away, then a step fails
    steps:
      - exec: rmdir out
      - exec: "false"
`,
    });
    mkdirSync(join(dir, 'out'));
    const r = await runCli(['check', 'both.check.yaml', '--report', 'junit:out/r.xml'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `error: could not write --report junit:${join(dir, 'out/r.xml')}: no such directory`,
    );
  });

  it('a report that still cannot be written when the run ends is exit 6 with one clean line; the other reports are written', async () => {
    const dir = checkDir({
      'gone.check.yaml': `checks:
  - name: the report directory goes away
    steps:
      - http: {method: get, url: "${echo}/gone"}
      - exec: rmdir out
`,
    });
    mkdirSync(join(dir, 'out'));
    const r = await runCli(
      ['check', 'gone.check.yaml', '--report', 'junit:out/r.xml', '--report', 'tap:r.tap'],
      { cwd: dir },
    );
    expect(r.code).toBe(6);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(
      `error: could not write --report junit:${join(dir, 'out/r.xml')}: no such directory`,
    );
    expect(r.stderr).not.toMatch(/ENOENT|\.part|open '/);
    expect(r.stderr).toContain('1 passed');
    expect(readFileSync(join(dir, 'r.tap'), 'utf8')).toMatch(
      /^ok 1 - gone › the report directory goes away$/m,
    );
  });
});

describe('check: reports show a step failed as the JSON does', () => {
  it('a step whose command exits 0 but whose expect fails is failed in junit, tap, html and json', async () => {
    const dir = checkDir({
      'x.check.yaml': `checks:
  - name: wrong method
    steps:
      - http: {method: get, url: "${echo}/first"}
      - name: post it
        http: {method: post, url: "${echo}/echo", data: {a: 1}}
        expect: {$.body.method: PUT}
`,
    });
    const r = await runCli(
      [
        'check',
        'x.check.yaml',
        '--json',
        '--report',
        'junit:r.xml',
        '--report',
        'tap:r.tap',
        '--report',
        'html:r.html',
        '--report',
        'json:r.ndjson',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    const steps = events(r.stdout).filter((e) => e.type === 'step');
    expect(steps.map((e) => [e.step, e.ok, e.exit])).toEqual([
      [expect.stringContaining('/first'), true, 0],
      ['post it', false, 1],
    ]);
    // The command itself exited 0: only the step's verdict says it failed.
    expect(steps[1]?.result).toMatchObject({ ok: true, exit: 0 });

    const junit = readFileSync(join(dir, 'r.xml'), 'utf8');
    expect(junit).toMatch(/^main\s+ok\s+\d+ms\s+http get .*\/first$/m);
    expect(junit).toMatch(/^main\s+FAIL\s+\d+ms\s+post it \(exit 1\)$/m);
    expect(junit).toContain('$.body.method: expected &quot;PUT&quot;, got &quot;POST&quot;');
    expect(junit).toMatch(/<failure message="step &quot;post it&quot;: \$\.body\.method: expected/);

    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    const rows = [
      ...html.matchAll(
        /<details class="step main (ok|bad)"[^>]*><summary[^>]*>.*?<span class="sname">(.*?)<\/span><span class="track">/g,
      ),
    ].map((m) => [m[1], m[2]?.replace(/<[^>]+>/g, '')]);
    expect(rows).toEqual([
      ['ok', expect.stringContaining('/first')],
      ['bad', '✗post it'],
    ]);

    const tap = readFileSync(join(dir, 'r.tap'), 'utf8');
    expect(tap).toMatch(/^not ok 1 - x › wrong method$/m);
    expect(tap).toMatch(/^ {2}step: "post it"$/m);

    const json = events(readFileSync(join(dir, 'r.ndjson'), 'utf8'));
    expect(json.filter((e) => e.type === 'step').map((e) => e.ok)).toEqual([true, false]);
  });
});
