import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../errors/comms-error.js';

/**
 * The nats CLI's contexts, read so a user's existing setup just works: `NAME.json` files under
 * `$XDG_CONFIG_HOME/nats/context/` (default `~/.config/nats/context/`), chosen by `--context NAME`,
 * else `NATS_CONTEXT`, else the name in `nats/context.txt` (what `nats context select` writes).
 * Only the connection fields are read; flags and the NATS_* environment win over each of them.
 */
export interface NatsContext {
  /** The context's name and where it was chosen (`--context`, `NATS_CONTEXT`, `context.txt`). */
  readonly name: string;
  readonly chosenBy: string;
  readonly url?: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly creds?: string;
  readonly nkey?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

function configDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'nats');
}

/** `~/x` -> `$HOME/x`, as the nats CLI expands paths in a context. */
function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(1)) : path;
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * The context to use, or undefined when none is chosen. A chosen context that does not exist (or is
 * not valid JSON) is a usage error naming it and where it was chosen.
 */
export function loadNatsContext(
  flagName: string | undefined,
  env: NodeJS.ProcessEnv,
): NatsContext | undefined {
  const dir = configDir(env);
  let name = flagName;
  let chosenBy = '--context';
  if (name === undefined && env.NATS_CONTEXT) {
    name = env.NATS_CONTEXT;
    chosenBy = 'NATS_CONTEXT';
  }
  if (name === undefined) {
    const selected = readIfThere(join(dir, 'context.txt'))?.trim();
    if (!selected) return undefined;
    name = selected;
    chosenBy = join(dir, 'context.txt');
  }
  if (!/^[\w][\w.@-]*$/.test(name) || name.includes('..'))
    throw new UsageError(`invalid NATS context name '${name}' (from ${chosenBy})`);
  const file = join(dir, 'context', `${name}.json`);
  const text = readIfThere(file);
  if (text === undefined)
    throw new UsageError(`NATS context '${name}' does not exist (from ${chosenBy}): no ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`NATS context '${name}': ${file} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new UsageError(`NATS context '${name}': ${file} is not a JSON object`);
  const json = raw as Record<string, unknown>;
  const field = (key: string): string | undefined => {
    const v = json[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const pathField = (key: string) => {
    const v = field(key);
    return v === undefined ? undefined : expandHome(v, env);
  };
  const pick = <K extends string>(key: K, v: string | undefined) => (v === undefined ? {} : { [key]: v });
  return {
    name,
    chosenBy,
    ...pick('url', field('url')),
    ...pick('user', field('user')),
    ...pick('password', field('password')),
    ...pick('token', field('token')),
    ...pick('creds', pathField('creds')),
    ...pick('nkey', pathField('nkey')),
    ...pick('cert', pathField('cert')),
    ...pick('key', pathField('key')),
    ...pick('ca', pathField('ca')),
  };
}
