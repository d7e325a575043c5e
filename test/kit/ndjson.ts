/**
 * NDJSON as the CLI prints it with --json: one JSON object per line. Blank lines (and the trailing
 * newline) are skipped; a line that is not JSON throws, naming the line, so a test fails loudly.
 */
export function ndjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(line)}`);
      }
    });
}

/** The last JSON line (the result or the load summary); `{}` when there is none. */
export function lastJson<T = Record<string, unknown>>(text: string): T {
  return (ndjson<T>(text).at(-1) ?? {}) as T;
}
