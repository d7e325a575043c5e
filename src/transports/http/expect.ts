import { exactEqual, parseExact, stringifyExact } from '../../core/exact-json.js';
import { type ResultCheck, textMatcher } from '../../core/expect.js';
import { parseHeader } from '../../core/input.js';
import { UsageError } from '../../errors/comms-error.js';
import type { HttpReply } from './call.js';
import { getPath, parseJsonPath } from './json-path.js';

interface BodyCheckFlags {
  expectHeader?: string[];
  expectBody?: string[];
  expectJson?: string[];
}

/**
 * --expect-header, --expect-body and --expect-json as ResultChecks over the reply. Specs are parsed
 * up front, so an invalid one is a usage error (exit 2) before anything is sent.
 */
export function bodyChecks(flags: BodyCheckFlags): ResultCheck<HttpReply>[] {
  const checks: ResultCheck<HttpReply>[] = [];
  for (const spec of flags.expectHeader ?? []) {
    const [name, value] = parseHeader(spec, '--expect-header');
    const matcher = textMatcher(value, '--expect-header');
    const key = name.toLowerCase();
    checks.push((_r, reply) => {
      if (!reply) return undefined;
      const v = reply.headers[key];
      if (v === undefined) return `expected header ${name} matching ${matcher.show}, but it is absent`;
      const text = Array.isArray(v) ? v.join(', ') : v;
      return matcher.test(text)
        ? undefined
        : `expected header ${name} matching ${matcher.show}, got ${JSON.stringify(text)}`;
    });
  }
  for (const spec of flags.expectBody ?? []) {
    const matcher = textMatcher(spec, '--expect-body');
    checks.push((_r, reply) => {
      const body = reply?.body?.toString('utf8') ?? '';
      return matcher.test(body)
        ? undefined
        : `expected body to contain ${matcher.show}, got ${preview(body)}`;
    });
  }
  for (const spec of flags.expectJson ?? []) {
    const i = spec.indexOf('=');
    if (i <= 0)
      throw new UsageError(`invalid --expect-json '${spec}'`, {
        hint: "write 'path=value', e.g. '$.items[0].id=42'",
      });
    const pathText = spec.slice(0, i).trim();
    const steps = parseJsonPath(pathText);
    const wantText = spec.slice(i + 1);
    const regex = /^\/.*\/[dgimsuy]*$/s.test(wantText) ? textMatcher(wantText, '--expect-json') : undefined;
    let want: unknown = wantText;
    try {
      want = parseExact(wantText);
    } catch {
      // not a JSON literal: compare as a string
    }
    checks.push((_r, reply) => {
      let doc: unknown;
      try {
        // Numbers compare exactly: 9007199254740993 is not 9007199254740992 (core/exact-json.ts).
        doc = parseExact(reply?.body?.toString('utf8') ?? '');
      } catch {
        return `expected JSON body for ${pathText}, got ${preview(reply?.body?.toString('utf8') ?? '')}`;
      }
      const got = getPath(doc, steps);
      if (!got.found) return `expected ${pathText} = ${wantText}, but ${pathText} is absent`;
      if (regex) {
        const text = typeof got.value === 'string' ? got.value : stringifyExact(got.value);
        return regex.test(text)
          ? undefined
          : `expected ${pathText} matching ${wantText}, got ${stringifyExact(got.value)}`;
      }
      // A string (or true/false/null) also matches its text: `$.id=42` holds for "42". Numbers never
      // match by text: they compare as exact decimals.
      const textual = typeof got.value === 'string' || typeof got.value === 'boolean' || got.value === null;
      const same = exactEqual(got.value, want) || (textual && String(got.value) === wantText);
      return same ? undefined : `expected ${pathText} = ${wantText}, got ${stringifyExact(got.value)}`;
    });
  }
  return checks;
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one);
}
