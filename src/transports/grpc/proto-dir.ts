import { fileURLToPath } from 'node:url';

/**
 * The `proto/` folder shipped with the package (health, reflection, google.rpc, the demo service).
 * Resolved from this file, so it works from `src/` (tests) and `dist/` (the built CLI) alike.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
