import { isAbsolute, resolve } from 'node:path';
import type { StepKind } from './catalogue.js';
import type { Defaults } from './model.js';
import { isDataOption } from './schema.js';

type Loose = Record<string, unknown>;

export interface ArgvSettings {
  /** The directory of the file holding the step: relative paths are relative to it. */
  dir: string;
  background: boolean;
  traceparent?: string;
  /** The runner's own flags (--json, --show-secrets), placed before the positionals. */
  extra?: readonly string[];
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `@file` values (data, json-data, write-out...) and path options are relative to the step's file. */
function atFile(v: string, dir: string): string {
  if (v.startsWith('@') && v !== '@-' && v.length > 1 && !isAbsolute(v.slice(1)))
    return `@${resolve(dir, v.slice(1))}`;
  return v;
}

/** The options a step runs with: file defaults it can take, the command/group defaults, then its own. */
export function effectiveOptions(
  kind: StepKind,
  value: Loose,
  defaults: Defaults,
  background: boolean,
): Loose {
  const out: Loose = {};
  const take = (from: Readonly<Loose>) => {
    for (const [k, v] of Object.entries(from)) {
      if (!kind.options.has(k)) continue;
      if (background && k === 'timeout') continue;
      out[k] = v;
    }
  };
  take(defaults.options);
  const scopes = Object.keys(defaults.scoped)
    .filter((s) => kind.path === s || kind.path.startsWith(`${s}.`))
    .sort((a, b) => a.length - b.length);
  for (const s of scopes) take(defaults.scoped[s] as Loose);
  const positional = new Set(kind.positionals.map((p) => p.name));
  for (const [k, v] of Object.entries(value)) if (!positional.has(k) && k !== 'payload') out[k] = v;
  if (kind.path === 'http' && value.payload !== undefined) out.data = value.payload;
  return out;
}

/** A command step as the command line it stands for (without the runner's --json). */
export function commandArgv(kind: StepKind, value: Loose, defaults: Defaults, s: ArgvSettings): string[] {
  const argv: string[] = [...kind.words];
  const options = effectiveOptions(kind, value, defaults, s.background);
  for (const [name, v] of Object.entries(options)) {
    const o = kind.options.get(name);
    if (!o || v === undefined || v === null) continue;
    if (o.boolean) {
      if (v === true || v === 'true') argv.push(`--${name}`);
      continue;
    }
    if (isDataOption(kind.path, name) && typeof v === 'object') {
      if (kind.path === 'http' && name === 'data' && kind.options.has('json-data'))
        argv.push('--json-data', JSON.stringify(v));
      else if (kind.path === 'grpc.call' && Array.isArray(v))
        argv.push(`--${name}`, v.map((x) => JSON.stringify(x)).join('\n'));
      else argv.push(`--${name}`, JSON.stringify(v));
      continue;
    }
    const values: string[] = Array.isArray(v)
      ? v.map(text)
      : typeof v === 'object' && o.mapSyntax
        ? Object.entries(v as Loose).map(([k, x]) => `${k}${o.mapSyntax}${text(x)}`)
        : [text(v)];
    for (const raw of values) {
      const arg = o.kind === 'path' ? resolve(s.dir, raw) : atFile(raw, s.dir);
      argv.push(`--${name}`, arg);
    }
  }
  if (s.traceparent && kind.options.has('traceparent') && options.traceparent === undefined)
    argv.push('--traceparent', s.traceparent);
  argv.push(...(s.extra ?? []));
  const positionals: string[] = [];
  for (const p of kind.positionals) {
    const v = value[p.name];
    if (v === undefined || v === null) {
      if (p.required) break;
      // a later optional positional cannot be given without this one
      if (kind.positionals.slice(kind.positionals.indexOf(p) + 1).some((q) => value[q.name] !== undefined))
        positionals.push('');
      continue;
    }
    if (p.variadic && Array.isArray(v)) positionals.push(...v.map(text));
    else positionals.push(text(v));
  }
  if (positionals.length > 0) argv.push('--', ...positionals);
  return argv;
}
