import { BlockList, isIP } from 'node:net';
import { UsageError } from '../errors/comms-error.js';

/** Where a worker's plans may send traffic: CIDR blocks and host-name patterns. */
export interface AllowList {
  blocks: BlockList;
  /** Exact names (lower case) and `*.domain` suffix patterns. */
  names: string[];
  /** As given, for messages. */
  text: string[];
}

/** Loopback only: what a worker allows when --allow-targets is not given. */
export const DEFAULT_ALLOW = ['127.0.0.0/8', '::1/128', 'localhost'];

export function parseAllowList(patterns: readonly string[]): AllowList {
  const given = patterns.length > 0 ? patterns : DEFAULT_ALLOW;
  const blocks = new BlockList();
  const names: string[] = [];
  for (const p of given) {
    const [addr, bits] = p.split('/');
    const family = isIP(addr ?? '');
    if (family !== 0) {
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
        throw new UsageError(`invalid --allow-targets '${p}': bad prefix length`);
      blocks.addSubnet(addr as string, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else if (/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/.test(p) || p === '*') {
      names.push(p.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new UsageError(
        `invalid --allow-targets '${p}': expected a CIDR (10.0.0.0/8), a host or *.domain`,
      );
    }
  }
  return { blocks, names, text: [...given] };
}

/** True when `host` (an IP literal or a name) is inside the allow list. Names are matched as written. */
export function isAllowed(host: string, allow: AllowList): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(h);
  if (family !== 0) {
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped?.[1]) return allow.blocks.check(mapped[1], 'ipv4');
    return allow.blocks.check(h, family === 4 ? 'ipv4' : 'ipv6');
  }
  return allow.names.some((n) => n === '*' || n === h || (n.startsWith('*.') && h.endsWith(n.slice(1))));
}
