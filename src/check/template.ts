import { evalPath } from './paths.js';

/**
 * Check-file templates: `{{name}}` (a var or a capture), `{{name.PATH}}` into an object,
 * `{{env.NAME}}`, `{{steps.ID.PATH}}`. `{{seq}}`, `{{uuid}}`, `{{time}}`, `{{unix}}` are left to the
 * command (fresh per call) unless `fresh` asks to compute them (vars). `\{{` is a literal `{{`.
 * A value that is exactly one template keeps the type of what it reads.
 */
export interface Scope {
  readonly vars: Readonly<Record<string, unknown>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly steps: Readonly<Record<string, unknown>>;
}

export class TemplateError extends Error {}

const TEMPLATE = /(\\?)\{\{\s*([^{}]*?)\s*\}\}/g;
const FRESH = new Set(['seq', 'uuid', 'time', 'unix']);

export interface TemplateRef {
  kind: 'var' | 'env' | 'step' | 'fresh';
  name: string;
}

/** Split `name.rest` / `name[0].rest` into the head and a JSONPath over its value. */
function splitRef(expr: string): { head: string; path: string | undefined } {
  const m = /^([A-Za-z_][\w-]*)(.*)$/s.exec(expr);
  if (!m) throw new TemplateError(`bad template '{{${expr}}}'`);
  const rest = m[2] ?? '';
  return { head: m[1] ?? '', path: rest === '' ? undefined : `$${rest}` };
}

export function parseRef(expr: string): TemplateRef & { path: string | undefined } {
  const { head, path } = splitRef(expr);
  if (head === 'env') {
    const m = /^\$\.([A-Za-z_][\w]*)$/.exec(path ?? '');
    if (!m) throw new TemplateError(`bad template '{{${expr}}}': write {{env.NAME}}`);
    return { kind: 'env', name: m[1] ?? '', path: undefined };
  }
  if (head === 'steps') {
    const m = /^\$\.([A-Za-z_][\w-]*)(.*)$/s.exec(path ?? '');
    if (!m) throw new TemplateError(`bad template '{{${expr}}}': write {{steps.ID.PATH}}`);
    return { kind: 'step', name: m[1] ?? '', path: m[2] ? `$${m[2]}` : undefined };
  }
  if (FRESH.has(head) && path === undefined) return { kind: 'fresh', name: head, path: undefined };
  return { kind: 'var', name: head, path };
}

/** Every template a value refers to (for validation before anything runs). */
export function templateRefs(value: unknown, out: TemplateRef[] = []): TemplateRef[] {
  if (typeof value === 'string') {
    for (const m of value.matchAll(TEMPLATE)) {
      if (m[1]) continue;
      out.push(parseRef(m[2] ?? ''));
    }
  } else if (Array.isArray(value)) for (const v of value) templateRefs(v, out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) templateRefs(v, out);
  return out;
}

function freshValue(name: string): string {
  const now = new Date();
  switch (name) {
    case 'uuid':
      return globalThis.crypto.randomUUID();
    case 'time':
      return now.toISOString();
    case 'unix':
      return String(Math.floor(now.getTime() / 1000));
    default:
      return '1';
  }
}

export interface RenderOptions {
  /** Compute {{seq}}/{{uuid}}/{{time}}/{{unix}} now (vars) instead of leaving them to the command. */
  fresh?: boolean;
  /** Unset env and unknown names render empty instead of failing (`if`). */
  lenient?: boolean;
}

function lookup(ref: TemplateRef & { path: string | undefined }, scope: Scope, o: RenderOptions): unknown {
  let base: unknown;
  switch (ref.kind) {
    case 'env': {
      const v = scope.env[ref.name];
      if (v === undefined) {
        if (o.lenient) return '';
        throw new TemplateError(`environment variable '${ref.name}' is not set`);
      }
      return v;
    }
    case 'step':
      if (!Object.hasOwn(scope.steps, ref.name)) {
        if (o.lenient) return '';
        throw new TemplateError(`no earlier step with id '${ref.name}' has a result`);
      }
      base = scope.steps[ref.name];
      break;
    default:
      if (!Object.hasOwn(scope.vars, ref.name)) {
        if (o.lenient) return '';
        throw new TemplateError(`unknown template name '${ref.name}' (no var or capture defines it)`);
      }
      base = scope.vars[ref.name];
  }
  if (ref.path === undefined) return base;
  const r = evalPath(base, ref.path);
  if (!r.found) {
    if (o.lenient) return '';
    throw new TemplateError(
      `'${ref.kind === 'step' ? `steps.${ref.name}` : ref.name}${ref.path.slice(1)}' selects nothing`,
    );
  }
  return r.value;
}

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderString(text: string, scope: Scope, o: RenderOptions = {}): unknown {
  if (!text.includes('{{')) return text;
  const exact = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(text);
  if (exact) {
    const ref = parseRef(exact[1] ?? '');
    if (ref.kind === 'fresh') return o.fresh ? freshValue(ref.name) : text;
    return lookup(ref, scope, o);
  }
  return text.replace(TEMPLATE, (whole, escaped: string, expr: string) => {
    if (escaped) return whole.slice(1);
    const ref = parseRef(expr);
    if (ref.kind === 'fresh') return o.fresh ? freshValue(ref.name) : whole;
    return asText(lookup(ref, scope, o));
  });
}

/** Render every string of a value (keys are left as written). */
export function render(value: unknown, scope: Scope, o: RenderOptions = {}): unknown {
  if (typeof value === 'string') return renderString(value, scope, o);
  if (Array.isArray(value)) return value.map((v) => render(v, scope, o));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, scope, o);
    return out;
  }
  return value;
}

/** `if` is false when it renders empty, false, 0, no, off or null (any case). */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0) return false;
  const t = (typeof v === 'object' ? JSON.stringify(v) : String(v)).trim().toLowerCase();
  return !['', 'false', '0', 'no', 'off', 'null'].includes(t);
}
