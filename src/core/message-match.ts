import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../errors/comms-error.js';
import { textMatcher } from './expect.js';
import { getPath, parseJsonPath } from './json-path.js';

/**
 * A matcher over one received message (ws `--expect-message`, `--until`; sse `--expect-event`):
 * a substring, `/regex/flags`, or `path=value` on a JSON payload (`$.type=tick`, `count=3`,
 * `$.name=/^a/`). Parsed up front: a bad spec is a usage error (exit 2) before anything is sent.
 */
export interface MessageMatcher {
  /** The spec as written, for messages. */
  readonly spec: string;
  test(text: string): boolean;
}

const PATH_SPEC = /^\s*(\$?[.[A-Za-z_$][^=]*?)\s*=(.*)$/s;

export function parseMessageMatcher(spec: string, flag: string): MessageMatcher {
  if (spec === '') throw new UsageError(`invalid ${flag} '': expected text, /regex/ or path=value`);
  if (/^\/.*\/[dgimsuy]*$/s.test(spec)) {
    const m = textMatcher(spec, flag);
    return { spec, test: (s) => m.test(s) };
  }
  const pathSpec = PATH_SPEC.exec(spec);
  if (pathSpec && /^\$|^[A-Za-z_$][\w$-]*(?:[.[]|$)/.test(pathSpec[1] ?? '')) {
    const pathText = pathSpec[1] ?? '';
    let steps: ReturnType<typeof parseJsonPath>;
    try {
      steps = parseJsonPath(pathText);
    } catch {
      throw new UsageError(`invalid ${flag} '${spec}': '${pathText}' is not a JSON path`, {
        hint: "write text, /regex/, or path=value such as '$.type=tick'",
      });
    }
    const wantText = pathSpec[2] ?? '';
    const regex = /^\/.*\/[dgimsuy]*$/s.test(wantText) ? textMatcher(wantText, flag) : undefined;
    let want: unknown = wantText;
    try {
      want = JSON.parse(wantText);
    } catch {
      // not a JSON literal: compared as a string
    }
    return {
      spec,
      test(text) {
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          return false;
        }
        const got = getPath(doc, steps);
        if (!got.found) return false;
        if (regex) return regex.test(typeof got.value === 'string' ? got.value : JSON.stringify(got.value));
        return (
          isDeepStrictEqual(got.value, want) ||
          (typeof got.value !== 'object' && String(got.value) === wantText)
        );
      },
    };
  }
  return { spec, test: (s) => s.includes(spec) };
}
