import { query } from 'jsonpath-rfc9535';
import { usePathEngine } from '../core/paths.js';

/*
 * Paths of check files: the contract's paths (core/paths.ts), the same code `--expect-json` uses. The
 * check runner always needs the JSONPath engine, so it hands it over when this module loads.
 */
usePathEngine(query as Parameters<typeof usePathEngine>[0]);

export { checkPath, evalPath, type PathResult } from '../core/paths.js';
