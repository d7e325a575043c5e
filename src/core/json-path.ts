import { UsageError } from '../errors/comms-error.js';

/**
 * A small JSON path for `--expect-json`: `$.items[0].id`, `items[0].id`, `$["a b"].c`, `$[-1]`.
 * Enough for CI assertions; not JSONPath filters or wildcards.
 */
export type PathStep = string | number;

export function parseJsonPath(path: string): PathStep[] {
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const steps: PathStep[] = [];
  const re = /^(?:\.([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[\s*(["'])(.*?)\3\s*\]|([A-Za-z_$][\w$-]*))/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) throw new UsageError(`invalid JSON path '${path}'`, { hint: 'write paths like $.items[0].id' });
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else if (m[4] !== undefined) steps.push(m[4]);
    else if (m[5] !== undefined && steps.length === 0) steps.push(m[5]);
    else throw new UsageError(`invalid JSON path '${path}'`, { hint: 'write paths like $.items[0].id' });
    rest = rest.slice(m[0].length);
  }
  return steps;
}

/** Follow a path; `found: false` when any step is missing. */
export function getPath(value: unknown, steps: PathStep[]): { found: boolean; value?: unknown } {
  let cur: unknown = value;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return { found: false };
      const i = step < 0 ? cur.length + step : step;
      if (i < 0 || i >= cur.length) return { found: false };
      cur = cur[i];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, step))
        return { found: false };
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: cur };
}
