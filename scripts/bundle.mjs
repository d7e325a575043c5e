// Bundles the built CLI (dist/cli/main.js) into dist/bundle/, with code splitting so every command's
// transport still loads lazily. Why: start-up. A one-shot `comms-cli http get` otherwise resolves and
// compiles ~100 small ES and CommonJS modules (ours, commander, chalk, undici) on every run; one chunk
// per lazy boundary is much cheaper (bench/RESULTS.md has the numbers). Heavy optional dependencies
// (gRPC, protobufjs, NATS, cockatiel, hdr-histogram, ora) stay external: they load from node_modules
// only when a command needs them.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLED = new Set(['commander', 'chalk', 'undici']);

/** Bare imports stay external unless they are one of the small start-up packages above. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
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

rmSync(`${root}/dist/bundle`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}/dist/cli/main.js`],
  outdir: `${root}/dist/bundle`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [externalPackages],
  // CommonJS modules inside the bundle (undici, commander) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
});
