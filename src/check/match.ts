/*
 * The check files' matchers are the contract's, shared with the command line's --expect-json: one
 * implementation in core/match.ts. Paths come through ./paths.js, which hands the JSONPath engine over.
 */
import './paths.js';

export {
  checkMatcher,
  isRegexText,
  judge,
  judgeAll,
  MATCHER_OPS,
  show,
  TYPE_NAMES,
  toRegex,
} from '../core/match.js';
