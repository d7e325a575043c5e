import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';
import { checkDir } from './kit.js';

/** Invalid files: every problem as FILE:LINE:COL, exit 2, and nothing sent from any file. */
let hits = 0;
const server = createServer((_req, res) => {
  hits += 1;
  res.end('{}');
});
let api = '';
beforeAll(async () => {
  api = `http://127.0.0.1:${await listen(server)}`;
});
afterAll(() => server.close());

describe('check: validation', () => {
  it('reports every problem of every file with its position, and sends nothing', async () => {
    const dir = checkDir({
      'a.check.yaml': `vars: {api: "${api}"}
checks:
  - name: one
    steps:
      - http: {method: get, url: "{{api}}/ok"}
      - http: {method: get, url: "{{api}}/x", retris: 3}
      - htp: {method: get, url: x}
      - http: {method: get, url: "{{apii}}/x", retries: abc, location: 3}
  - name: one
    steps:
      - await: nope
      - id: s
        http: {method: get, url: "{{api}}"}
      - await: s
`,
      'b.check.yaml': `checks:
  - name: fine
    steps:
      - http: {method: get, url: "${api}/fine"}
`,
      'c.check.yaml': 'checks: [ {name: x\n',
      'd.check.yaml': Buffer.from([0x63, 0x68, 0xff, 0xfe, 0x0a]),
    });
    const r = await runCli(['check', dir], { cwd: dir });
    expect(r.code).toBe(2);
    const e = r.stderr;
    expect(e).toMatch(/a\.check\.yaml:6:\d+: http: unknown option 'retris' \(did you mean 'retries'\?\)/);
    expect(e).toContain("a.check.yaml:7:9: unknown step key 'htp' (did you mean 'http'?)");
    expect(e).toMatch(/a\.check\.yaml:8:\d+: http: invalid --retries 'abc'/);
    expect(e).toMatch(/a\.check\.yaml:8:\d+: http: location: is a switch: expected true or false/);
    expect(e).toMatch(/a\.check\.yaml:8:9: unknown template name 'apii' \(did you mean 'api'\?\)/);
    expect(e).toMatch(/a\.check\.yaml:9:5: duplicate check name 'one'/);
    expect(e).toMatch(/a\.check\.yaml:11:9: await: no earlier step has id 'nope'/);
    expect(e).toMatch(/a\.check\.yaml:14:9: await: step 's' is not a background step/);
    expect(e).toMatch(/c\.check\.yaml:\d+:\d+: not valid YAML/);
    expect(e).toContain('d.check.yaml:1:1: not UTF-8 text');
    expect(e).toContain('nothing was run');
    expect(e).not.toContain('a step needs a command');
    expect(hits).toBe(0);
  });

  it('include cycles, fragments that are not fragments, unknown defaults, bad matchers', async () => {
    const dir = checkDir({
      'main.check.yaml': `defaults:
  timeot: 2s
  grpc: {server: x}
checks:
  - name: c
    steps:
      - include: f1.yaml
      - http: {method: get, url: "http://127.0.0.1:1"}
        expect: {$.status: {lessthan: 3}, body: 1}
`,
      'f1.yaml': 'steps:\n  - include: f2.yaml\n',
      'f2.yaml': 'steps:\n  - include: f1.yaml\n',
    });
    const r = await runCli(['check', 'main.check.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /main\.check\.yaml:2:3: defaults: 'timeot' is neither an option.*did you mean 'timeout'/,
    );
    expect(r.stderr).toMatch(
      /main\.check\.yaml:3:10: defaults\.grpc: no grpc command has an option 'server'/,
    );
    expect(r.stderr).toMatch(/f2\.yaml:2:5: include cycle: .*f1\.yaml -> .*f2\.yaml -> .*f1\.yaml/);
    expect(r.stderr).toMatch(/main\.check\.yaml:9:\d+: expect: .*unknown matcher 'lessthan'/);
    expect(r.stderr).toMatch(/main\.check\.yaml:9:\d+: expect: path 'body' must start with \$/);
  });

  it('--dry-run validates and sends nothing; --list prints the checks; fragments are not listed', async () => {
    const dir = checkDir({
      'a.check.yaml': `name: orders
checks:
  - name: first
    tags: [smoke]
    steps: [{http: {method: get, url: "${api}/x"}}]
  - name: second
    skip: not today
    steps: [{http: {method: get, url: "${api}/x"}}]
`,
      'frag.check.yaml': `steps: [{http: {method: get, url: "${api}/x"}}]\n`,
    });
    const before = hits;
    const dry = await runCli(['check', dir, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('2 checks in 1 file: valid (nothing sent)');
    const list = await runCli(['check', dir, '--list', '--tag', 'smoke']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('orders › first  [smoke]\n');
    expect(hits).toBe(before);
  });

  it('an unset {{env.X}} is an error before anything is sent', async () => {
    const dir = checkDir({
      'e.check.yaml': `checks:
  - name: env
    steps:
      - http: {method: get, url: "${api}/a"}
      - http: {method: get, url: "${api}/{{env.CHECK_TEST_UNSET}}"}
`,
    });
    const before = hits;
    const r = await runCli(['check', join(dir, 'e.check.yaml')], { env: { CHECK_TEST_UNSET: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/e\.check\.yaml:5:9: environment variable 'CHECK_TEST_UNSET' is not set/);
    expect(hits).toBe(before);
  });

  it('a step missing a required positional, or with a URL that cannot parse, is invalid: exit 2, nothing sent from any file', async () => {
    const dir = checkDir({
      'a.check.yaml': `checks:
  - name: first
    steps:
      - http: {method: get, url: "${api}/first"}
  - name: second
    steps:
      - http: {method: get}
`,
      'b.check.yaml': `vars: {api: "${api}"}
checks:
  - name: urls
    steps:
      - http: {method: get, url: "not a url"}
      - http: {method: get, url: "ftp://127.0.0.1/x"}
      - http: {method: get, url: "{{api}}/templated"}
      - http: {method: get, url: ":1/scheme-less"}
      - http:
      - run: http get "not a url" --retries 1
      - run: grpc call 127.0.0.1:1
      - run: http get
      - run: http 127.0.0.1:1/url-alone --retries 0
`,
      'c.check.yaml': `checks:
  - name: streams
    steps:
      - ws: {url: "http://127.0.0.1:1/x"}
      - sse: {url: "ws://127.0.0.1:1/x"}
`,
    });
    const before = hits;
    for (const args of [
      ['check', dir],
      ['check', dir, '--dry-run'],
    ]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([
        'a.check.yaml:7:9: http: needs url',
        "b.check.yaml:5:29: http: url: invalid URL 'not a url' (write a full URL such as http://127.0.0.1:8080/path)",
        "b.check.yaml:6:29: http: url: unsupported URL scheme 'ftp:' in 'ftp://127.0.0.1/x' (use http:// or https://)",
        'b.check.yaml:9:9: http: needs method, url',
        "b.check.yaml:10:14: run: invalid URL 'not a url' (write a full URL such as http://127.0.0.1:8080/path)",
        'b.check.yaml:11:14: run: grpc call needs method',
        "b.check.yaml:12:14: run: missing required argument 'url' (comms-cli http get http://127.0.0.1:8080/path)",
        "c.check.yaml:4:14: ws: url: unsupported URL scheme 'http:' in 'http://127.0.0.1:1/x' (use ws:// or wss://)",
        "c.check.yaml:5:15: sse: url: unsupported URL scheme 'ws:' in 'ws://127.0.0.1:1/x' (an event stream is served over http:// or https://)",
        '9 problems in check files: nothing was run',
      ]);
    }
    expect(hits).toBe(before);
  });

  it('a usage error found only when the step runs (a URL from a var) is one prefix, not two', async () => {
    const dir = checkDir({
      'u.check.yaml': `checks:
  - name: late
    steps:
      - http: {method: get, url: "{{u}}"}
`,
    });
    const before = hits;
    const r = await runCli(['check', 'u.check.yaml', '--var', 'u=not a url'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("  usage error: invalid URL 'not a url'\n");
    expect(r.stderr).not.toContain('error: error:');
    expect(hits).toBe(before);
  });

  it('a YAML syntax error is reported where it is: the line the quote or bracket was opened on', async () => {
    const dir = checkDir({
      'q.check.yaml': `checks:
  - name: unterminated
    steps:
      - http: {method: get, url: "${api}/q}
`,
      's.check.yaml': `checks:
  - name: 'it''s
    steps: []
`,
      'b.check.yaml': `checks:
  - name: ok
    steps:
      - http: [get, "${api}/b"
`,
      'd.check.yaml': `checks: []
checks: []
`,
    });
    const before = hits;
    const r = await runCli(['check', dir, '--dry-run'], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      'b.check.yaml:4:15: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'd.check.yaml:2:1: not valid YAML: Map keys must be unique',
      'q.check.yaml:4:34: not valid YAML: Missing closing "quote',
      "s.check.yaml:2:11: not valid YAML: Missing closing 'quote",
      '4 problems in check files: nothing was run',
    ]);
    expect(hits).toBe(before);
  });

  it('--print-schema is the shipped schema', async () => {
    const r = await runCli(['check', '--print-schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $defs: { step: { properties: Record<string, unknown> } } };
    expect(Object.keys(schema.$defs.step.properties)).toEqual(
      expect.arrayContaining([
        'http',
        'grpc.call',
        'nats.publish',
        'nats.subscribe',
        'events.append',
        'capture',
        'expect',
      ]),
    );
    expect(Object.keys(schema.$defs.step.properties)).not.toContain('publish');
  });
});
