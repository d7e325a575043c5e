// Bundles the built CLI (dist/cli/main.js) into one CommonJS script, dist/bundle/cli.cjs, that
// dist/bundle/main.js (generated below) compiles with a V8 code cache. Why: start-up. A one-shot
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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist/bundle');
const BUNDLED = new Set(['commander', 'chalk', 'undici']);
/** The parameters the bundle's wrapper function receives from main.js. */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__importMetaUrl', '__import'];

/**
 * Built-ins that bundled libraries require at load time but use only on paths comms-cli never takes
 * first (or never): loaded on first use instead. commander requires node:child_process for
 * executable subcommands (none here); undici's HTTP/2 client requires node:http2 (~25-40 ms to load,
 * measured) only to read protocol constants until an h2 session is opened. The constants are copied
 * in at build time from this same Node's node:http2.
 */
const DEFERRED_BUILTINS = [
  {
    importer: /\/node_modules\/commander\//,
    name: 'node:child_process',
    contents: `module.exports = new Proxy({}, { get: (_, k) => require('node:child_process')[k] });`,
  },
  {
    importer: /\/node_modules\/undici\/lib\/dispatcher\/client-h2\.js$/,
    name: 'node:http2',
    contents: `module.exports = {
  constants: ${JSON.stringify(http2Constants)},
  connect: (...args) => require('node:http2').connect(...args),
};`,
  },
];

const plugin = {
  name: 'comms-cli-bundle',
  setup(b) {
    // Dynamic imports of packages and built-ins (ora, gRPC, node:http2, ...) are left to Node's own
    // ESM loader through `__import`, a function main.js passes in: a vm.Script has no module loader
    // of its own. Relative imports (our lazy boundaries) are inlined by esbuild as usual.
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/\bimport\((['"])(?![./])/g, '__import($1'), loader: 'js' };
    });
    for (const d of DEFERRED_BUILTINS) {
      b.onResolve({ filter: new RegExp(`^(node:)?${d.name.slice(5)}$`) }, (args) =>
        d.importer.test(args.importer) ? { path: d.name, namespace: 'deferred-builtin' } : undefined,
      );
    }
    b.onLoad({ filter: /.*/, namespace: 'deferred-builtin' }, (args) => ({
      contents: DEFERRED_BUILTINS.find((d) => d.name === args.path)?.contents,
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

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'dist/cli/main.js')],
  outfile: join(out, 'cli.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  charset: 'ascii', // main.js reads the script as latin1: no UTF-8 decoding pass
  sourcemap: true,
  write: false,
  logLevel: 'warning',
  define: { 'import.meta.url': '__importMetaUrl' },
  plugins: [plugin],
  // The file is one function expression: main.js compiles it as a vm.Script and calls it.
  banner: { js: `(function (${PARAMS.join(', ')}) {` },
  footer: { js: '})' },
});
let hash = '';
for (const f of result.outputFiles) {
  writeFileSync(f.path, f.contents);
  if (f.path.endsWith('.cjs')) hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 16);
}

// main.js: the loader. It stays an ES module (bin/comms-cli.js imports it) and stays small.
writeFileSync(
  join(out, 'main.js'),
  `// Generated by scripts/bundle.mjs. Loads cli.cjs with a V8 code cache (Node 20 has no compile
// cache): the first run of a command compiles as usual and, at exit, saves V8's compiled code
// (including every function that run used) to the user's cache directory; later runs deserialise
// it instead of parsing and compiling ~1.5 MB of JavaScript. The cache file's name carries the
// script's build hash and path, the Node version and architecture, the command word and the tier flag;
// its header carries the script's size and mtime; V8 itself rejects data from another V8 version,
// other flags or another source length. A rejected or unreadable cache is rewritten; a cache
// directory that cannot be written is skipped. COMMS_CODE_CACHE=0 turns it off.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

const BUILD = ${JSON.stringify(hash)};
const file = fileURLToPath(new URL('./cli.cjs', import.meta.url));
const argv = process.argv.slice(2);

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
  const home = homedir();
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'comms-cli', 'Cache');
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'comms-cli');
  return join(process.env.XDG_CACHE_HOME || join(home, '.cache'), 'comms-cli');
}

const source = readFileSync(file, 'latin1');
const stat = statSync(file);
const header = Buffer.from(\`\${stat.size}:\${Math.trunc(stat.mtimeMs)}\\n\`);
const dir = cacheDir();
const word = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : '_';
// Installs of the same build at two paths keep a cache each (their headers differ).
let where = 0x811c9dc5;
for (let i = 0; i < file.length; i++) where = Math.imul(where ^ file.charCodeAt(i), 0x01000193) >>> 0;
const cacheFile =
  dir && join(dir, \`\${BUILD}-\${where.toString(16)}-\${process.version}-\${process.arch}-\${word}-\${oneShot ? 'o' : 'l'}.v8\`);
let cachedData;
if (cacheFile) {
  try {
    const buf = readFileSync(cacheFile);
    if (buf.subarray(0, header.length).equals(header)) cachedData = buf.subarray(header.length);
  } catch {
    // no cache yet
  }
}
const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  // At exit the script has compiled what this command needed: cache that, once.
  process.once('exit', () => {
    try {
      const data = script.createCachedData();
      mkdirSync(dir, { recursive: true });
      const tmp = \`\${cacheFile}.\${process.pid}.tmp\`;
      writeFileSync(tmp, Buffer.concat([header, data]));
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
const module = { exports: {} };
script.runInThisContext()(
  module.exports,
  createRequire(file),
  module,
  file,
  dirname(file),
  pathToFileURL(file).href,
  (specifier) => import(specifier),
);
`,
);
