import { UsageError } from '../errors/comms-error.js';
import { parseExact } from './exact-json.js';
import { textMatcher } from './expect.js';
import { parseExpectJson } from './expectation.js';
import { singularSteps } from './paths.js';

/**
 * A matcher over one received message (`--expect-message` on every stream, ws `--until`; sse
 * `--expect-event`): a substring, `/regex/flags`, or `PATH OP VALUE` on a JSON payload (`$.type=tick`,
 * `count=3`, `$.name=/^a/`, `$.n>=2`), judged exactly as `--expect-json` judges (core/expectation.ts).
 * Parsed up front: a bad spec is a usage error (exit 2) before anything is sent.
 */
export interface MessageMatcher {
  /** The spec as written, for messages. */
  readonly spec: string;
  test(text: string): boolean;
}

const PATH_SPEC = /^\s*(\$?[.[A-Za-z_$][^=<>!]*?)\s*(?:!=|>=|<=|==|=|>|<)/s;

export function parseMessageMatcher(spec: string, flag: string): MessageMatcher {
  if (spec === '') throw new UsageError(`invalid ${flag} '': expected text, /regex/ or path=value`);
  if (/^\/.*\/[dgimsuy]*$/s.test(spec)) {
    const m = textMatcher(spec, flag);
    return { spec, test: (s) => m.test(s) };
  }
  const pathSpec = PATH_SPEC.exec(spec);
  const pathText = pathSpec?.[1]?.trim() ?? '';
  if (pathSpec && /^\$|^[A-Za-z_$][\w$-]*(?:[.[]|$)/.test(pathText)) {
    const rooted = pathText.startsWith('$') ? pathText : `$.${pathText}`;
    // Messages are matched as they arrive, synchronously: singular paths only (no JSONPath engine).
    if (!singularSteps(rooted))
      throw new UsageError(`invalid ${flag} '${spec}': '${pathText}' is not a JSON path`, {
        hint: "write text, /regex/, or path=value such as '$.type=tick' (names and indexes only)",
      });
    const expectation = parseExpectJson(spec, flag);
    return {
      spec,
      test(text) {
        let doc: unknown;
        try {
          doc = parseExact(text);
        } catch {
          return false;
        }
        return expectation.judge(doc) === undefined;
      },
    };
  }
  return { spec, test: (s) => s.includes(spec) };
}
