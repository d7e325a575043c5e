import { createHash, randomBytes } from 'node:crypto';

/** --digest -u user:password: the credentials answered to one Digest challenge (RFC 7616). */
export interface DigestCredentials {
  readonly user: string;
  readonly password: string;
}

interface Challenge {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  algorithm: string;
  userhash: boolean;
}

const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

/** Split `a=1, b="x, y"` into parameters (quoted strings may hold commas and escaped quotes). */
function params(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let m = re.exec(text); m; m = re.exec(text))
    out[(m[1] ?? '').toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  return out;
}

/**
 * The Digest challenges of a 401's WWW-Authenticate header(s) we can answer: MD5 or SHA-256 (and
 * their -sess forms), with qop=auth or no qop. The strongest is preferred (SHA-256 over MD5).
 */
export function parseDigestChallenge(header: string | string[] | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const found: Challenge[] = [];
  for (const one of Array.isArray(header) ? header : [header]) {
    // A header may hold several challenges; each Digest one starts at the word `Digest`.
    for (const part of one.split(/(?=\bDigest\s)/i)) {
      if (!/^\s*Digest\s/i.test(part)) continue;
      const p = params(
        part.replace(/^\s*Digest\s+/i, '').split(/,\s*(?=(?:Basic|Bearer|Negotiate)\b)/i)[0] ?? '',
      );
      const algorithm = (p.algorithm ?? 'MD5').toUpperCase();
      if (!HASHES[algorithm.replace(/-SESS$/, '')]) continue;
      if (p.nonce === undefined || p.realm === undefined) continue;
      const qops = p.qop?.split(',').map((q) => q.trim().toLowerCase());
      if (qops && !qops.includes('auth')) continue;
      found.push({
        realm: p.realm,
        nonce: p.nonce,
        ...(p.opaque !== undefined ? { opaque: p.opaque } : {}),
        ...(qops ? { qop: 'auth' } : {}),
        algorithm,
        userhash: p.userhash?.toLowerCase() === 'true',
      });
    }
  }
  return found.find((c) => c.algorithm.startsWith('SHA-256')) ?? found[0];
}

const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/** The Authorization header answering `challenge` for `method uri` (uri: the path and query as sent). */
export function digestAuthorization(
  challenge: Challenge,
  creds: DigestCredentials,
  method: string,
  uri: string,
  cnonce = randomBytes(16).toString('hex'),
): string {
  const base = challenge.algorithm.replace(/-SESS$/, '');
  const algo = HASHES[base] ?? 'md5';
  const h = (s: string) => createHash(algo).update(s, 'utf8').digest('hex');
  const nc = '00000001';
  let ha1 = h(`${creds.user}:${challenge.realm}:${creds.password}`);
  if (challenge.algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response = challenge.qop
    ? h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${challenge.qop}:${ha2}`)
    : h(`${ha1}:${challenge.nonce}:${ha2}`);
  const username = challenge.userhash ? h(`${creds.user}:${challenge.realm}`) : creds.user;
  const fields = [
    `username=${quote(username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quote(response)}`,
    ...(challenge.opaque !== undefined ? [`opaque=${quote(challenge.opaque)}`] : []),
    ...(challenge.qop ? [`qop=${challenge.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`] : []),
    ...(challenge.userhash ? ['userhash=true'] : []),
  ];
  return `Digest ${fields.join(', ')}`;
}
