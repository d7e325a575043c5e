import { UsageError } from '../../errors/comms-error.js';

/**
 * Checks a NATS subject before anything is sent (exit 2 on a bad one). A subject is dot-separated
 * tokens, none empty, with no whitespace. `*` and `>` are wildcards: allowed only where the caller
 * subscribes, and `>` only as the last token. Template placeholders ({{seq}}) are checked after expansion.
 */
export function validateSubject(
  subject: string,
  { wildcards, flag = 'subject' }: { wildcards: boolean; flag?: string },
): string {
  const show = quoted(subject);
  if (subject === '')
    throw new UsageError(`empty ${flag}`, { hint: 'subjects look like orders.created or orders.*' });
  if (/[\s\p{Cc}]/u.test(subject))
    throw new UsageError(`invalid ${flag} ${show}: subjects cannot contain spaces or control characters`);
  const tokens = subject.split('.');
  tokens.forEach((token, i) => {
    if (token === '') {
      const where = i === 0 ? 'leading dot' : i === tokens.length - 1 ? 'trailing dot' : 'empty token (..)';
      throw new UsageError(`invalid ${flag} ${show}: ${where}`);
    }
    const wild = token === '*' || token === '>';
    if (wild && !wildcards) {
      throw new UsageError(`invalid ${flag} ${show}: wildcards (* and >) cannot be published to`, {
        hint: 'publish to a concrete subject such as orders.created',
      });
    }
    if (token === '>' && i !== tokens.length - 1)
      throw new UsageError(`invalid ${flag} ${show}: '>' must be the last token`);
  });
  return subject;
}

/** A stream's subject for a templated publish subject: each token holding `{{...}}` becomes `*`. */
export function subjectFilterFor(template: string): string {
  return template
    .split('.')
    .map((token) => (token.includes('{{') ? '*' : token))
    .join('.');
}

/**
 * True when every subject `subject` can stand for (it may hold wildcards) is matched by `pattern`
 * (a stream's subject): `orders.>` covers `orders.created` and `orders.*`; `orders.*` does not cover
 * `orders.a.b` or `orders.>`.
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === '>') return i < s.length;
    const st = s[i];
    if (st === undefined || st === '>') return false;
    if (pt === '*') continue;
    if (st === '*' || pt !== st) return false;
  }
  return p.length === s.length;
}

/** A queue group name: one token, no wildcards, spaces or control characters (exit 2 otherwise). */
export function validateQueue(queue: string): string {
  if (!/^[^\s\p{Cc}*>]+$/u.test(queue))
    throw new UsageError(`invalid --queue ${quoted(queue)}: no spaces, control characters or wildcards`);
  return queue;
}

/** A name in double quotes with every control character escaped (\u007f too), safe for a terminal. */
export function quoted(text: string): string {
  return JSON.stringify(text).replace(
    /\p{Cc}/gu,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Peer-controlled text (header names and values, stream names, reply subjects) for a terminal line:
 * every control character (C0, DEL, C1: ESC and CSI included) written as `\uXXXX`, nothing else changed.
 */
export function visible(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}
