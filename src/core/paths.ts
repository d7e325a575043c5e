/**
 * The contract's paths (check files and `--expect-json`): RFC 9535 JSONPath, plus `-` in dot names
 * (`$.headers.content-type`). Keys under `headers`/`trailers`/`metadata` match case-insensitively. A
 * singular path (names and indexes only) yields its value; a path that can select several nodes
 * yields a list.
 *
 * Singular paths (nearly every assertion) are walked here without the JSONPath engine; the engine
 * (jsonpath-rfc9535) is loaded only for wildcards, filters and descendants: `loadPathEngine()` before
 * the first such path, or `usePathEngine()` by a caller that imports it itself (check files). A
 * one-shot `http get --expect-json '$.id=1'` thus never loads it.
 */
/** One step of a singular path: a member name or an array index (negative counts from the end). */
export type PathStep = string | number;

export interface PathResult {
  readonly found: boolean;
  readonly value?: unknown;
}

type QueryFn = (doc: never, path: string) => unknown[];
let engine: QueryFn | undefined;

/** Give the JSONPath engine to this module (a caller that imports it statically). */
export function usePathEngine(query: QueryFn): void {
  engine = query;
}

/** Load the JSONPath engine, once; needed before a non-singular path is checked or evaluated. */
export async function loadPathEngine(): Promise<void> {
  if (engine) return;
  const { query } = await import('jsonpath-rfc9535');
  engine = query as QueryFn;
}

function queryEngine(): QueryFn {
  if (!engine) throw new Error('JSONPath engine not loaded (call loadPathEngine first)');
  return engine;
}

const SINGULAR_STEP =
  /^(?:\.([A-Za-z_][\w-]*)|\[(-?\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\])/;

/** The steps of a singular path, or undefined when the path is not singular (wildcards, filters...). */
export function singularSteps(path: string): Array<string | number> | undefined {
  if (!path.startsWith('$')) return undefined;
  let rest = path.slice(1);
  const steps: Array<string | number> = [];
  while (rest.length > 0) {
    const m = SINGULAR_STEP.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  return steps;
}

/** Rewrite `.name-with-dash` into `['name-with-dash']` so the RFC 9535 parser takes it. */
function toRfc(path: string): string {
  return path.replace(/(\.\.|\.)([A-Za-z_][\w]*-[\w-]*)/g, (_m, dot: string, name: string) =>
    dot === '..' ? `..['${name}']` : `['${name}']`,
  );
}

/** Throws with a readable message when the path does not parse. */
export function checkPath(path: string): void {
  if (!path.startsWith('$')) throw new Error(`path '${path}' must start with $`);
  if (singularSteps(path)) return;
  try {
    queryEngine()({} as never, toRfc(path));
  } catch (err) {
    throw new Error(`invalid path '${path}': ${(err as Error).message}`);
  }
}

/** Follow the steps of a singular path (as `singularSteps` gives them); `found: false` when one is missing. */
export function walkSteps(doc: unknown, steps: ReadonlyArray<PathStep>): PathResult {
  let cur: unknown = doc;
  let prev: string | number | undefined;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return { found: false };
      const i = step < 0 ? cur.length + step : step;
      if (i < 0 || i >= cur.length) return { found: false };
      cur = cur[i];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return { found: false };
      const obj = cur as Record<string, unknown>;
      let key: string | undefined = Object.hasOwn(obj, step) ? step : undefined;
      if (key === undefined && (prev === 'headers' || prev === 'trailers' || prev === 'metadata'))
        key = Object.keys(obj).find((k) => k.toLowerCase() === step.toLowerCase());
      if (key === undefined) return { found: false };
      cur = obj[key];
    }
    prev = step;
  }
  return { found: true, value: cur };
}

export function evalPath(doc: unknown, path: string): PathResult {
  const steps = singularSteps(path);
  if (steps) return walkSteps(doc, steps);
  const values = queryEngine()(doc as never, toRfc(path));
  return values.length === 0 ? { found: false, value: [] } : { found: true, value: values };
}
