import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';

/**
 * The `proto/` folder shipped with the package (health, reflection, google.rpc, the demo service).
 * Found from the package root, so it works from `src/` (tests), `dist/` and the bundle alike.
 */
export const PROTO_DIR = join(packageRoot(), 'proto');
