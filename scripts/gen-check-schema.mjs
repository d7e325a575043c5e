// Writes schema/check.schema.json from the built CLI (`comms-cli check --print-schema`), which builds it
// from the same option tables and key tables that validate check files. `--check` fails when the file
// in the repository is stale (CI runs that after the build).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}schema/check.schema.json`;
const fresh = execFileSync(process.execPath, [`${root}bin/comms-cli.js`, 'check', '--print-schema'], {
  encoding: 'utf8',
});
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== fresh) {
    console.error(
      'schema/check.schema.json is stale: run `npm run build && node scripts/gen-check-schema.mjs`',
    );
    process.exitCode = 1;
  } else console.log('schema/check.schema.json is current');
} else {
  writeFileSync(target, fresh);
  console.log(`wrote ${target}`);
}
