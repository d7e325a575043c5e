// Bundles the built CLI (dist/cli/main.js) into one CommonJS script, dist/bundle/cli.cjs (and
// dist/bundle/http.cjs, the same with only the http command), that
// dist/bundle/main.cjs (generated below) compiles with a V8 code cache. Why: start-up. A one-shot
// `comms-cli http get` otherwise resolves, reads and compiles ~40 ES module chunks (or ~100 modules
// unbundled) through Node's ESM loader on every run, and Node 20 has no compile cache of its own
// (bench/RESULTS.md has the profiles and numbers). Lazy boundaries stay lazy: esbuild keeps every
// `import('./x.js')` of ours as a deferred module initialiser, so `comms-cli http` still runs no
// gRPC or NATS code. Heavy optional dependencies (gRPC, protobufjs, NATS, amqplib, mqtt, cockatiel,
// hdr-histogram, ora) stay external: they load from node_modules only when a command needs them.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants as http2Constants } from 'node:http2';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireHere = createRequire(import.meta.url);
const out = join(root, 'dist/bundle');
const BUNDLED = new Set(['commander', 'chalk', 'undici']);
/** The parameters the bundle's wrapper function receives from main.cjs. */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__importMetaUrl', '__import'];

/**
 * A stand-in module that requires the real built-in on first use: an object with a getter per export.
 * esbuild copies an imported CommonJS module's keys when an ES module imports it (`__toESM`), so the
 * keys are listed here, taken at build time from this same Node (as the HTTP/2 constants below are),
 * and the getters load the module only when a value is read.
 */
const lazyBuiltin = (name) => {
  const real = requireHere(name);
  const keys = Object.getOwnPropertyNames(real).filter((k) => k !== 'default' && k !== '__esModule');
  const hidden = keys.filter((k) => !Object.getOwnPropertyDescriptor(real, k)?.enumerable);
  return `let real;
const load = () => (real ??= require(${JSON.stringify(name)}));
const hidden = new Set(${JSON.stringify(hidden)});
for (const k of ${JSON.stringify(keys)})
  Object.defineProperty(module.exports, k, { enumerable: !hidden.has(k), get: () => load()[k] });`;
};

/**
 * Built-ins required at load time but used only on some paths: loaded on first use instead. Loading
 * one costs a one-shot run 10-40 ms on these machines (node:tls + node:crypto ~37 ms, node:zlib ~15,
 * node:fs/promises ~17, node:assert ~14; medians of 7 fresh processes), and a plain
 * `comms-cli http get http://...` needs none of them.
 * - Our own modules import these at the top (TLS option checks, histograms, input files, locks, the
 *   password prompt, the resolver for names other than localhost), for paths a one-shot GET to an
 *   address or to localhost never takes.
 * - commander requires node:child_process for executable subcommands (none here).
 * - undici's HTTP/2 client requires node:http2 (~25-40 ms) only to read protocol constants until an
 *   h2 session is opened. The constants are copied in at build time from this same Node's node:http2.
 * - undici calls `assert(value)` as a function only (checked below), on paths that must not fail.
 */
const OUR_CODE = new RegExp(`^${join(root, 'dist/').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
const DEFERRED_BUILTINS = [
  ...[
    'crypto',
    'tls',
    'zlib',
    'fs/promises',
    'readline',
    'child_process',
    'timers/promises',
    'module',
    'dns',
    'os',
  ].map((n) => ({
    importer: OUR_CODE,
    name: `node:${n}`,
    contents: lazyBuiltin(`node:${n}`),
  })),
  {
    importer: /\/node_modules\/commander\//,
    name: 'node:child_process',
    contents: lazyBuiltin('node:child_process'),
  },
  {
    importer: /\/node_modules\/undici\/lib\/dispatcher\/client-h2\.js$/,
    name: 'node:http2',
    contents: `module.exports = {
  constants: ${JSON.stringify(http2Constants)},
  connect: (...args) => require('node:http2').connect(...args),
};`,
  },
  {
    importer: /\/node_modules\/undici\//,
    name: 'node:assert',
    contents: `module.exports = function assert(value, message) {
  if (!value) require('node:assert').ok(value, message);
};`,
  },
];

const plugin = {
  name: 'comms-cli-bundle',
  setup(b) {
    // Dynamic imports of packages (ora, gRPC, ...) are left to Node's own ESM loader through
    // `__import`, a function main.cjs passes in: a vm.Script has no module loader of its own, and some
    // of those packages are ES modules. Built-ins (`node:...`) become a `require` (our code reads
    // only their named exports): starting the ESM loader for a built-in costs a one-shot run 40-60 ms.
    // Relative imports (our lazy boundaries) are inlined by esbuild as usual.
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = (await readFile(args.path, 'utf8'))
        .replace(/\bimport\((['"])(node:[\w/]+)\1\)/g, 'Promise.resolve().then(() => require($1$2$1))')
        .replace(/\bimport\((['"])(?![./])/g, '__import($1')
        // The bundle's own `require` (main.cjs's, from the same directory) is what createRequire would
        // build; node:module itself loads Node's ESM loader and source-map support (~5 ms).
        .replace(/\bcreateRequire\(import\.meta\.url\)/g, 'require');
      return { contents: text, loader: 'js' };
    });
    DEFERRED_BUILTINS.forEach((d, i) => {
      b.onResolve({ filter: new RegExp(`^(node:)?${d.name.slice(5)}$`) }, (args) =>
        d.importer.test(args.importer) ? { path: String(i), namespace: 'deferred-builtin' } : undefined,
      );
    });
    b.onLoad({ filter: /.*/, namespace: 'deferred-builtin' }, (args) => ({
      contents: DEFERRED_BUILTINS[Number(args.path)]?.contents,
      resolveDir: root,
      loader: 'js',
    }));
    // The node:assert stand-in above is a bare function: fail the build if undici starts using
    // assert's methods (assert.strictEqual, ...) in the modules bundled here.
    b.onLoad({ filter: /\/node_modules\/undici\/lib\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (/\bassert\.[a-zA-Z]/.test(text))
        throw new Error(`${args.path} uses assert's methods: update the stand-in`);
      return undefined;
    });
    // chalk detects colour support at load (supports-color: node:tty, node:os, environment) for its
    // default instances, which comms-cli never uses: output/colour.ts decides each stream's level
    // itself and always passes it. Without the detection a piped run does not load node:tty.
    b.onResolve({ filter: /^#supports-color$/ }, (args) =>
      /\/node_modules\/chalk\//.test(args.importer)
        ? { path: 'chalk', namespace: 'no-detection' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'no-detection' }, () => ({
      contents: 'export default { stdout: false, stderr: false };',
      loader: 'js',
    }));
    // undici's fetch machinery is required lazily by its HTTP/1 and HTTP/2 clients (FormData bodies
    // only, which comms-cli sends for -F, loading undici's FormData from node_modules): leave it out of
    // the bundle, so both come from the same node_modules copy and only -F pays for loading them.
    b.onResolve({ filter: /\/web\// }, (args) => {
      const at = args.importer.lastIndexOf('/node_modules/undici/');
      if (at < 0) return undefined;
      const target = join(dirname(args.importer), args.path);
      return { path: `undici/${target.slice(at + '/node_modules/undici/'.length)}`, external: true };
    });
    b.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.path.startsWith('node:')) return { external: true };
      const name = args.path.startsWith('@')
        ? args.path.split('/').slice(0, 2).join('/')
        : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { external: true };
    });
  },
};

/**
 * `http.cjs`: the same program with only the http command in it. `comms-cli http ...` registers the
 * http slice alone (src/cli/program.ts), so the other slices' modules are never run there, but their
 * source still had to be read into a string (~5 ms for the whole 1.6 MB on these machines) and their
 * part of the code cache deserialised. This build replaces every other slice's register module with a
 * stub (never called: main.cjs loads this file only when the first word is `http`); esbuild then
 * leaves out everything only those slices reach. The worker slice stays (provideCoordinator, for
 * `--workers`).
 */
const OTHER_SLICES =
  /^\.\.\/(check|completion|demo|events|report|servers|transports\/(amqp|grpc|mqtt|nats|sse|ws))\/register\.js$/;
const httpOnly = {
  name: 'http-only',
  setup(b) {
    b.onResolve({ filter: OTHER_SLICES }, (args) =>
      args.importer.endsWith('/dist/cli/program.js')
        ? { path: args.path, namespace: 'other-slice' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'other-slice' }, () => ({
      contents: `export function register() { throw new Error('comms-cli: this bundle holds only the http command'); }`,
      loader: 'js',
    }));
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const shared = {
  entryPoints: [join(root, 'dist/cli/main.js')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  charset: 'ascii', // main.cjs reads the script as latin1: no UTF-8 decoding pass
  sourcemap: true,
  write: false,
  logLevel: 'warning',
  define: { 'import.meta.url': '__importMetaUrl' },
  // The file is one function expression: main.cjs compiles it as a vm.Script and calls it.
  banner: { js: `(function (${PARAMS.join(', ')}) {` },
  footer: { js: '})' },
};
const results = await Promise.all([
  build({ ...shared, outfile: join(out, 'cli.cjs'), plugins: [plugin] }),
  build({ ...shared, outfile: join(out, 'http.cjs'), plugins: [httpOnly, plugin] }),
]);
const digest = createHash('sha256');
for (const f of results.flatMap((r) => r.outputFiles)) {
  writeFileSync(f.path, f.contents);
  if (f.path.endsWith('.cjs')) digest.update(f.contents);
}
const hash = digest.digest('hex').slice(0, 16);

// main.cjs: the loader. CommonJS, like bin/comms-cli.js (bin/package.json says so): a one-shot run
// then never starts Node's ESM loader (resolve, package scope lookups, fs/promises reads, module
// jobs: 40-60 ms of a one-shot GET on these machines, measured with --cpu-prof). It stays small.
writeFileSync(
  join(out, 'main.cjs'),
  `'use strict';
// Generated by scripts/bundle.mjs. Loads cli.cjs (http.cjs for \`comms-cli http\`: the same program
// holding only that command) with a V8 code cache (Node 20 has no compile
// cache): the first run of a command compiles as usual and, at exit, saves V8's compiled code
// (including every function that run used) to the user's cache directory; later runs deserialise
// it instead of parsing and compiling ~1.5 MB of JavaScript. The cache file's name carries the
// script's build hash and path, the Node version and architecture, the command word and the tier flag;
// its header carries the script's size and mtime (a stat, not a hash of the file: hashing 1.5 MB
// costs every start); V8 itself rejects data from another V8 version, other flags or another source
// length. A rejected or unreadable cache is rewritten; a cache directory that cannot be written is
// skipped. COMMS_CODE_CACHE=0 turns it off.
// The cache holds what the run that wrote it compiled. A run that ended early (a usage error, a
// refused connection, --help) compiled little of a command's path, and every later run would compile
// the rest inside its measured request (a one-shot GET's time_total read ~1 ms more). So the header
// also says whether its run got through its command (exit 0, or 1: an answer that failed its
// expectations): if not, the next run writes it again, from the functions it deserialised plus the
// ones it compiled. After three such writes in a row only a run that gets through writes it, so a
// command that always fails early stops paying for the write.
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const BUILD = ${JSON.stringify(hash)};
const argv = process.argv.slice(2);
const file = join(__dirname, argv[0] === 'http' ? 'http.cjs' : 'cli.cjs');

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it with its baseline compiler
// and then again with TurboFan in the background, and Node waits for that background job before
// exiting: ~400-500 ms of idle wall time after a one-shot \`comms-cli http get\` (bench/RESULTS.md).
// Load mode and workers keep the optimising tier, where parsing speed over many responses is worth
// it. Set here, before the script is compiled: V8 flags are part of the code cache's check.
const oneShot =
  argv[0] !== 'worker' && !argv.some((a) => /^(-n|--requests|--duration|--rate)(=|$)/.test(a) || /^-n\\d/.test(a));
if (oneShot) setFlagsFromString('--liftoff-only');

function cacheDir() {
  if (process.env.COMMS_CODE_CACHE === '0') return undefined;
  // node:os only when HOME is unset (os.homedir() reads HOME first too).
  const home = process.env.HOME || require('node:os').homedir();
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'comms-cli', 'Cache');
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'comms-cli');
  return join(process.env.XDG_CACHE_HOME || join(home, '.cache'), 'comms-cli');
}

const source = readFileSync(file, 'latin1');
const stat = statSync(file);
const stamp = Buffer.from(\`\${stat.size}:\${Math.trunc(stat.mtimeMs)}:\`);
const dir = cacheDir();
const word = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : '_';
// Installs of the same build at two paths keep a cache each (their headers differ).
let where = 0x811c9dc5;
for (let i = 0; i < file.length; i++) where = Math.imul(where ^ file.charCodeAt(i), 0x01000193) >>> 0;
const cacheFile =
  dir && join(dir, \`\${BUILD}-\${where.toString(16)}-\${process.version}-\${process.arch}-\${word}-\${oneShot ? 'o' : 'l'}.v8\`);
let cachedData;
// The header's last mark: 'C', written by a run that got through its command; '1'-'3', by that many
// runs in a row that ended early.
let early = 0;
if (cacheFile) {
  try {
    const buf = readFileSync(cacheFile);
    const mark = buf[stamp.length];
    if (buf.subarray(0, stamp.length).equals(stamp) && buf[stamp.length + 1] === 0x0a && mark !== undefined) {
      early = mark === 0x43 ? 0 : mark - 0x30;
      if (early >= 0 && early <= 3) cachedData = buf.subarray(stamp.length + 2);
    }
  } catch {
    // no cache yet
  }
}
const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
if (cacheFile && (!cachedData || script.cachedDataRejected || early > 0)) {
  // At exit the script has compiled what this command needed: cache that.
  process.once('exit', (code) => {
    try {
      const through = (code === 0 || code === 1) && !argv.some((a) => /^(-h|--help|-V|--version)$/.test(a));
      const before = cachedData && !script.cachedDataRejected ? early : 0;
      if (!through && before >= 3) return;
      const mark = through ? 'C' : String(before + 1);
      const data = script.createCachedData();
      mkdirSync(dir, { recursive: true });
      const tmp = \`\${cacheFile}.\${process.pid}.tmp\`;
      writeFileSync(tmp, Buffer.concat([stamp, Buffer.from(\`\${mark}\\n\`), data]));
      renameSync(tmp, cacheFile);
      // Caches of earlier builds at this same path are dead weight (another install keeps its own).
      for (const name of readdirSync(dir))
        if (name.endsWith('.v8') && name.includes(\`-\${where.toString(16)}-\`) && !name.startsWith(BUILD))
          rmSync(join(dir, name), { force: true });
    } catch {
      // a cache that cannot be written only costs the next run its compile time
    }
  });
}
const bundled = { exports: {} };
script.runInThisContext()(
  bundled.exports,
  require, // this file's: the same directory as the script, so the same resolution (no node:module)
  bundled,
  file,
  dirname(file),
  pathToFileURL(file).href,
  (specifier) => import(specifier),
);
`,
);
