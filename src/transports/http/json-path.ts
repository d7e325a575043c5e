/** Moved down to core (ws and sse match JSON paths too); kept so existing imports keep working. */
export { getPath, type PathStep, parseJsonPath } from '../../core/json-path.js';
