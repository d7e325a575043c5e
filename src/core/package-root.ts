import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;
let version: string | undefined;

/**
 * The installed package's root folder (where package.json and proto/ are). Found by walking up from
 * this module, so it holds whether the code runs from src/ (tests), dist/ or the bundled dist/bundle/.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    const manifest = existsSync(pkg)
      ? (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string })
      : undefined;
    if (manifest?.name === 'comms-cli') {
      root = dir;
      version = manifest.version;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('comms-cli: cannot find its package.json');
    dir = parent;
  }
}

/** The package version, for --version. */
export function packageVersion(): string {
  packageRoot(); // reads package.json once, for both
  return version ?? '0.0.0';
}
