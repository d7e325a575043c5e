import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  parseDocument,
} from 'yaml';
import { parseDuration } from '../core/duration.js';
import { allOptionNames, type StepKind, type StepOption } from './catalogue.js';
import { checkMatcher } from './match.js';
import type { CaptureDef, CheckDef, Defaults, FileDef, Problem, StepAction, StepDef } from './model.js';
import { checkPath } from './paths.js';
import { ACTION_KEYS, CHECK_KEYS, EXEC_KEYS, FILE_KEYS, isDataOption, STEP_KEYS } from './schema.js';
import { templateRefs } from './template.js';
import { didYouMean, splitWords } from './words.js';

/**
 * Reading check files: YAML 1.2 with positions (the `yaml` package), validated against the fixed
 * keys of schema.ts and the step kinds of the command tree. Every problem of every file is collected
 * as FILE:LINE:COL: message; nothing runs while any remains.
 */

export const CHECK_FILE = /\.check\.ya?ml$/;

interface Src {
  path: string;
  shown: string;
  dir: string;
  doc: Document;
  lc: LineCounter;
}

export interface LoadSettings {
  kinds: ReadonlyMap<string, StepKind>;
  /** Names defined outside the files (--var, --var-file), for template checks. */
  outerVars: ReadonlySet<string>;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

type Loose = Record<string, unknown>;

export class Loader {
  readonly problems: Problem[] = [];
  readonly #s: LoadSettings;
  readonly #fragments = new Map<string, { src: Src; node: Node } | null>();

  constructor(settings: LoadSettings) {
    this.#s = settings;
  }

  #shown(path: string): string {
    const rel = relative(this.#s.cwd, path);
    return rel.startsWith('..') ? path : rel;
  }

  #at(src: Src | string, node: Node | Pair | undefined | null, message: string): void {
    if (typeof src === 'string') {
      this.problems.push({ file: src, line: 1, col: 1, message });
      return;
    }
    const target = (node && 'key' in node && node.key ? node.key : node) as Node | undefined;
    const offset = target?.range?.[0] ?? 0;
    const { line, col } = src.lc.linePos(offset);
    this.problems.push({ file: src.shown, line, col, message });
  }

  #loc(src: Src, node: Node | Pair): string {
    const target = ('key' in node && node.key ? node.key : node) as Node;
    const { line, col } = src.lc.linePos(target.range?.[0] ?? 0);
    return `${src.shown}:${line}:${col}`;
  }

  /** Parse one file into its YAML document, or record why it cannot be read. */
  async #parse(path: string): Promise<Src | undefined> {
    const shown = this.#shown(path);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      this.#at(
        shown,
        null,
        `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return undefined;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.#at(shown, null, 'not UTF-8 text (check files are UTF-8 YAML)');
      return undefined;
    }
    const lc = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lc,
      prettyErrors: false,
      uniqueKeys: true,
      version: '1.2',
    });
    const src: Src = { path, shown, dir: dirname(path), doc, lc };
    if (doc.errors.length > 0) {
      const seen = new Set<number>();
      for (const e of doc.errors) {
        // Errors at the offset of an earlier one follow from it (an unclosed quote also leaves its
        // flow map unclosed): one line for the cause is enough.
        const at =
          e.code === 'MISSING_CHAR' && /quote/.test(e.message)
            ? (unclosedAt(text, 'quote') ?? e.pos[0])
            : /^Flow map.*end with a }/.test(e.message)
              ? (unclosedAt(text, '{') ?? e.pos[0])
              : /^Flow sequence.*end with a ]/.test(e.message)
                ? (unclosedAt(text, '[') ?? e.pos[0])
                : e.pos[0];
        if (seen.has(e.pos[0])) continue;
        seen.add(e.pos[0]);
        // With prettyErrors off the parser leaves linePos unset: place the error from its offset.
        const pos = lc.linePos(at);
        const msg = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        this.problems.push({ file: shown, line: pos.line, col: pos.col, message: `not valid YAML: ${msg}` });
      }
      return undefined;
    }
    return src;
  }

  /** Is this file a fragment (top-level `steps:`)? Unreadable files are not (they get reported). */
  async isFragment(path: string): Promise<boolean> {
    try {
      const text = await readFile(path, 'utf8');
      const doc = parseDocument(text, { version: '1.2' });
      return isMap(doc.contents) && doc.contents.has('steps') && !doc.contents.has('checks');
    } catch {
      return false;
    }
  }

  async loadFile(path: string): Promise<FileDef | undefined> {
    const src = await this.#parse(path);
    if (!src) return undefined;
    const root = src.doc.contents;
    if (!isMap(root)) {
      this.#at(src, root, 'a check file is a map with checks: (or steps: for a fragment)');
      return undefined;
    }
    const before = this.problems.length;
    const body: Loose = {};
    for (const pair of root.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!FILE_KEYS[key]) {
        this.#at(src, pair, `unknown key '${key}'${didYouMean(key, Object.keys(FILE_KEYS))}`);
        continue;
      }
      body[key] = pair;
    }
    const get = (k: string) => (body[k] as Pair | undefined)?.value as Node | undefined;
    const name =
      this.#string(src, get('name')) ??
      basename(path)
        .replace(CHECK_FILE, '')
        .replace(/\.ya?ml$/, '');
    const vars = this.#vars(src, get('vars'));
    const secrets = this.#strings(src, get('secrets'));
    const defaults = this.#defaults(src, get('defaults'));
    const checksNode = get('checks');
    const checks: CheckDef[] = [];
    if (!isSeq(checksNode)) {
      this.#at(src, checksNode ?? root, 'checks: must be a list of checks');
    } else {
      const seen = new Map<string, string>();
      for (const item of checksNode.items) {
        const check = await this.#check(src, item as Node);
        if (!check) continue;
        const prev = seen.get(check.name);
        if (prev) this.#at(src, item as Node, `duplicate check name '${check.name}' (first at ${prev})`);
        else seen.set(check.name, check.loc);
        checks.push(check);
      }
    }
    const file: FileDef = { path, name, dir: src.dir, vars, secrets, defaults, checks };
    this.#checkDefaults(src, get('defaults'), file);
    for (const c of checks) this.#checkTemplates(src, file, c);
    return this.problems.length === before ? file : undefined;
  }

  // ---- scalars ----

  #js(src: Src, node: Node | undefined | null): unknown {
    if (node === undefined || node === null) return null;
    return node.toJS(src.doc);
  }

  #string(src: Src, node: Node | undefined): string | undefined {
    if (node === undefined) return undefined;
    const v = this.#js(src, node);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.#at(src, node, 'expected text');
    return undefined;
  }

  #strings(src: Src, node: Node | undefined): string[] {
    if (node === undefined) return [];
    const v = this.#js(src, node);
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
      return v.map(String);
    this.#at(src, node, 'expected a list of words');
    return [];
  }

  #duration(src: Src, node: Node | undefined, what: string): number | undefined {
    if (node === undefined) return undefined;
    const v = this.#js(src, node);
    if (typeof v === 'number' && v >= 0) return v;
    if (typeof v === 'string') {
      try {
        return parseDuration(v, what);
      } catch (err) {
        this.#at(src, node, (err as Error).message);
        return undefined;
      }
    }
    this.#at(src, node, `${what}: expected a duration such as 500ms, 2s or 1m`);
    return undefined;
  }

  #vars(src: Src, node: Node | undefined): Loose {
    if (node === undefined) return {};
    if (!isMap(node)) {
      this.#at(src, node, 'vars: must be a map of names to values');
      return {};
    }
    const out: Loose = {};
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!/^[A-Za-z_][\w-]*$/.test(key) || key === 'env' || key === 'steps') {
        this.#at(src, pair, `'${key}' cannot be a var name (letters, digits, _ and -; not env or steps)`);
        continue;
      }
      out[key] = this.#js(src, pair.value as Node);
    }
    return out;
  }

  #exitCodes(src: Src, node: Node | undefined): number[] | undefined {
    if (node === undefined) return undefined;
    const v = this.#js(src, node);
    const list = Array.isArray(v) ? v : [v];
    if (
      list.length === 0 ||
      !list.every((n) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255)
    ) {
      this.#at(src, node, 'expect-exit: expected an exit code or a list of them (0-255)');
      return undefined;
    }
    return list as number[];
  }

  #expect(src: Src, node: Node | undefined, what: string): Loose | undefined {
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      this.#at(src, node, `${what}: expected a map of {PATH: matcher}`);
      return undefined;
    }
    const out: Loose = {};
    for (const pair of node.items) {
      const path = String(isScalar(pair.key) ? pair.key.value : pair.key);
      try {
        checkPath(path);
        const m = this.#js(src, pair.value as Node);
        checkMatcher(m, path);
        out[path] = m;
      } catch (err) {
        this.#at(src, pair, `${what}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  #capture(src: Src, node: Node | undefined): Record<string, CaptureDef> | undefined {
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      this.#at(src, node, 'capture: expected a map of {var: PATH} or {var: {path, regex}}');
      return undefined;
    }
    const out: Record<string, CaptureDef> = {};
    for (const pair of node.items) {
      const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const v = this.#js(src, pair.value as Node) as unknown;
      const def: CaptureDef | undefined =
        typeof v === 'string'
          ? { path: v }
          : v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Loose).path === 'string'
            ? {
                path: (v as Loose).path as string,
                ...(typeof (v as Loose).regex === 'string' ? { regex: (v as Loose).regex as string } : {}),
              }
            : undefined;
      if (!def) {
        this.#at(src, pair, `capture ${name}: expected a PATH or {path, regex}`);
        continue;
      }
      for (const k of Object.keys(v && typeof v === 'object' ? (v as Loose) : {}))
        if (k !== 'path' && k !== 'regex')
          this.#at(src, pair, `capture ${name}: unknown key '${k}' (path, regex)`);
      try {
        checkPath(def.path);
        if (def.regex !== undefined) new RegExp(def.regex);
        out[name] = def;
      } catch (err) {
        this.#at(src, pair, `capture ${name}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  // ---- defaults ----

  #defaults(src: Src, node: Node | undefined): Defaults {
    const d: { options: Loose; scoped: Record<string, Loose>; within?: number; every?: number } = {
      options: {},
      scoped: {},
    };
    if (node === undefined) return d;
    if (!isMap(node)) {
      this.#at(src, node, 'defaults: must be a map of options');
      return d;
    }
    const groups = new Set<string>();
    for (const k of this.#s.kinds.values())
      for (let i = 1; i <= k.words.length; i++) groups.add(k.words.slice(0, i).join('.'));
    const names = allOptionNames(this.#s.kinds);
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const value = pair.value as Node;
      if (key === 'within' || key === 'every') {
        const ms = this.#duration(src, value, key);
        if (ms !== undefined) d[key] = ms;
      } else if (groups.has(key)) {
        if (!isMap(value)) {
          this.#at(src, pair, `defaults.${key}: expected a map of options for the ${key} command(s)`);
          continue;
        }
        const scoped: Loose = {};
        const kindsHere = [...this.#s.kinds.values()].filter(
          (k) => k.path === key || k.path.startsWith(`${key}.`),
        );
        for (const p of value.items) {
          const opt = String(isScalar(p.key) ? p.key.value : p.key);
          const o = kindsHere.map((k) => k.options.get(opt)).find((x) => x !== undefined);
          if (!o) {
            const known = new Set(kindsHere.flatMap((k) => [...k.options.keys()]));
            this.#at(
              src,
              p,
              `defaults.${key}: no ${key} command has an option '${opt}'${didYouMean(opt, known)}`,
            );
            continue;
          }
          const v = this.#js(src, p.value as Node);
          this.#optionValue(src, p, `defaults.${key}`, o, v, false);
          scoped[opt] = v;
        }
        d.scoped[key] = scoped;
      } else if (names.has(key)) {
        const o = [...this.#s.kinds.values()]
          .map((k) => k.options.get(key))
          .find((x) => x !== undefined) as StepOption;
        const v = this.#js(src, value);
        this.#optionValue(src, pair, 'defaults', o, v, false);
        d.options[key] = v;
      } else {
        this.#at(
          src,
          pair,
          `defaults: '${key}' is neither an option of any command nor a command${didYouMean(key, [...names, ...groups])}`,
        );
      }
    }
    return d;
  }

  /** A default that no step of the file can take is an error. */
  #checkDefaults(src: Src, node: Node | undefined, file: FileDef): void {
    if (!isMap(node)) return;
    const used: string[] = [];
    const visit = (steps: readonly StepDef[]) => {
      for (const s of steps) {
        if (s.action.type === 'command') used.push(s.action.kind);
        if (s.action.type === 'run') {
          try {
            const k = findKind(this.#s.kinds, splitWords(s.action.line));
            if (k) used.push(k.path);
          } catch {
            // reported where the step was read
          }
        }
        visit(s.compensate);
      }
    };
    for (const c of file.checks) {
      visit(c.steps);
      visit(c.finally);
    }
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (key === 'within' || key === 'every') continue;
      if (file.defaults.scoped[key]) {
        if (
          isMap(pair.value) &&
          pair.value.items.length > Object.keys(file.defaults.scoped[key] ?? {}).length
        )
          continue;
        if (!used.some((k) => k === key || k.startsWith(`${key}.`)))
          this.#at(src, pair, `defaults.${key}: no step of this file runs a ${key} command`);
        continue;
      }
      if (!allOptionNames(this.#s.kinds).has(key)) continue;
      if (!used.some((k) => this.#s.kinds.get(k)?.options.has(key)))
        this.#at(src, pair, `defaults: no step of this file takes '${key}'`);
    }
  }

  // ---- checks ----

  async #check(src: Src, node: Node): Promise<CheckDef | undefined> {
    if (!isMap(node)) {
      this.#at(src, node, 'a check is a map with name: and steps:');
      return undefined;
    }
    const body: Record<string, Pair> = {};
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!CHECK_KEYS[key]) {
        this.#at(src, pair, `unknown check key '${key}'${didYouMean(key, Object.keys(CHECK_KEYS))}`);
        continue;
      }
      body[key] = pair;
    }
    const get = (k: string) => body[k]?.value as Node | undefined;
    const name = this.#string(src, get('name'));
    if (name === undefined) {
      this.#at(src, node, 'a check needs a name:');
      return undefined;
    }
    const stepsNode = get('steps');
    if (!isSeq(stepsNode))
      this.#at(src, stepsNode ?? node, `check '${name}': steps: must be a list of steps`);
    const steps = isSeq(stepsNode) ? await this.#steps(src, stepsNode, [src.path]) : [];
    const fin = get('finally');
    if (fin !== undefined && !isSeq(fin)) this.#at(src, fin, 'finally: must be a list of steps');
    const finallySteps = isSeq(fin) ? await this.#steps(src, fin, [src.path]) : [];
    const each = await this.#each(src, get('each'));
    const skip = get('skip');
    const maxTime = this.#duration(src, get('max-time'), 'max-time');
    const ifNode = get('if');
    const check: CheckDef = {
      name,
      loc: this.#loc(src, node),
      tags: this.#strings(src, get('tags')),
      vars: this.#vars(src, get('vars')),
      steps,
      finally: finallySteps,
      ...(skip !== undefined ? { skip: this.#string(src, skip) ?? 'skipped' } : {}),
      ...(ifNode !== undefined ? { if: this.#js(src, ifNode) } : {}),
      ...(maxTime !== undefined ? { maxTime } : {}),
      ...(each ? { each } : {}),
    };
    this.#checkIds(src, node, check);
    return check;
  }

  async #each(src: Src, node: Node | undefined): Promise<Loose[] | undefined> {
    if (node === undefined) return undefined;
    const v = this.#js(src, node);
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every((r) => r && typeof r === 'object' && !Array.isArray(r)))
        return v as Loose[];
      this.#at(src, node, 'each: expected a non-empty list of var maps, or a CSV/YAML file');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.#at(src, node, 'each: expected a list of var maps, or a CSV/YAML file');
      return undefined;
    }
    const path = resolve(src.dir, v);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      this.#at(
        src,
        node,
        `each: cannot read ${v}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return undefined;
    }
    if (extname(path).toLowerCase() === '.csv') {
      const rows = parseCsv(text);
      const [head, ...data] = rows;
      if (!head || data.length === 0) {
        this.#at(src, node, `each: ${v} needs a header row and at least one row`);
        return undefined;
      }
      return data.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
    }
    const doc = parseDocument(text, { version: '1.2' });
    const rows = doc.errors.length === 0 ? doc.toJS() : undefined;
    if (
      !Array.isArray(rows) ||
      rows.length === 0 ||
      !rows.every((r) => r && typeof r === 'object' && !Array.isArray(r))
    ) {
      this.#at(src, node, `each: ${v} must hold a YAML list of var maps`);
      return undefined;
    }
    return rows as Loose[];
  }

  /** Step ids are unique after includes are expanded; await names an earlier background step. */
  #checkIds(src: Src, node: Node, check: CheckDef): void {
    const ids = new Map<string, StepDef>();
    const background = new Set<string>();
    const visit = (steps: readonly StepDef[]) => {
      for (const s of steps) {
        if (s.action.type === 'await' && !background.has(s.action.id)) {
          const target = ids.get(s.action.id);
          this.problems.push(
            problemAt(
              s.loc,
              target
                ? `await: step '${s.action.id}' is not a background step (add background: true to it)`
                : `await: no earlier step has id '${s.action.id}'${didYouMean(s.action.id, ids.keys())}`,
            ),
          );
        }
        if (s.id !== undefined) {
          const prev = ids.get(s.id);
          if (prev)
            this.problems.push(problemAt(s.loc, `duplicate step id '${s.id}' (first at ${prev.loc})`));
          else ids.set(s.id, s);
          if (s.background) background.add(s.id);
        }
        visit(s.compensate);
      }
    };
    visit(check.steps);
    visit(check.finally);
    void src;
    void node;
  }

  /** Names a step uses must be defined before it runs: vars, captures of earlier steps, env. */
  #checkTemplates(src: Src, file: FileDef, check: CheckDef): void {
    const names = new Set<string>([
      ...Object.keys(file.vars),
      ...Object.keys(check.vars),
      ...this.#s.outerVars,
    ]);
    for (const row of check.each ?? []) for (const k of Object.keys(row)) names.add(k);
    const ids = new Set<string>();
    const checkRefs = (loc: string, value: unknown, lenient: boolean, local: ReadonlySet<string>) => {
      let refs: ReturnType<typeof templateRefs>;
      try {
        refs = templateRefs(value);
      } catch (err) {
        this.problems.push(problemAt(loc, (err as Error).message));
        return;
      }
      for (const r of refs) {
        if (r.kind === 'var' && !names.has(r.name) && !local.has(r.name) && !lenient)
          this.problems.push(
            problemAt(loc, `unknown template name '${r.name}'${didYouMean(r.name, [...names, ...local])}`),
          );
        if (r.kind === 'env' && this.#s.env[r.name] === undefined && !lenient)
          this.problems.push(
            problemAt(loc, `environment variable '${r.name}' is not set ({{env.${r.name}}})`),
          );
        if (r.kind === 'step' && !ids.has(r.name) && !lenient)
          this.problems.push(problemAt(loc, `{{steps.${r.name}...}}: no earlier step has id '${r.name}'`));
      }
    };
    const visit = (steps: readonly StepDef[]) => {
      for (const s of steps) {
        const local = new Set(Object.keys(s.vars ?? {}));
        const { action } = s;
        const payload =
          action.type === 'command'
            ? action.value
            : action.type === 'run'
              ? action.line
              : action.type === 'exec'
                ? [action.command, action.env]
                : undefined;
        checkRefs(s.loc, [payload, s.expect, s.until, s.name, s.vars], false, local);
        checkRefs(s.loc, s.if, true, local);
        for (const k of Object.keys(s.capture ?? {})) names.add(k);
        if (s.id) ids.add(s.id);
        visit(s.compensate);
      }
    };
    checkRefs(check.loc, [file.vars, check.vars], false, new Set());
    visit(check.steps);
    visit(check.finally);
    void src;
  }

  // ---- steps ----

  async #steps(src: Src, seq: Node, stack: string[]): Promise<StepDef[]> {
    const out: StepDef[] = [];
    if (!isSeq(seq)) return out;
    for (const item of seq.items) out.push(...(await this.#step(src, item as Node, stack)));
    return out;
  }

  async #step(src: Src, node: Node, stack: string[]): Promise<StepDef[]> {
    if (!isMap(node)) {
      this.#at(
        src,
        node,
        'a step is a map: {http: {...}}, {run: ...}, {exec: ...}, {await: ID} or {include: FILE}',
      );
      return [];
    }
    const body: Record<string, Pair> = {};
    const actions: string[] = [];
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (STEP_KEYS[key]) {
        body[key] = pair;
        if ((ACTION_KEYS as readonly string[]).includes(key)) actions.push(key);
      } else if (this.#s.kinds.has(key)) {
        body[key] = pair;
        actions.push(key);
      } else {
        this.#at(
          src,
          pair,
          `unknown step key '${key}'${didYouMean(key, [...Object.keys(STEP_KEYS), ...this.#s.kinds.keys()])}`,
        );
      }
    }
    if (actions.length === 0) {
      if (node.items.some((p) => !STEP_KEYS[String(isScalar(p.key) ? p.key.value : p.key)])) return [];
      this.#at(
        src,
        node,
        'a step needs a command (http, grpc.call, nats.publish, ...), run, exec, await or include',
      );
      return [];
    }
    if (actions.length > 1) {
      this.#at(src, body[actions[1] as string], `a step has one action; this one has ${actions.join(', ')}`);
      return [];
    }
    const action = actions[0] as string;
    const get = (k: string) => body[k]?.value as Node | undefined;
    const loc = this.#loc(src, node);
    if (action === 'include') return this.#include(src, body.include as Pair, get('vars'), stack);
    if (body.vars)
      this.#at(src, body.vars, 'vars: on a step goes with include: (use the check vars otherwise)');
    for (const k of ['count', 'none-within'])
      if (body[k] && action !== 'await') this.#at(src, body[k], `${k}: goes with await:`);
    if (action === 'await') {
      for (const k of ['background', 'until', 'every', 'compensate'])
        if (body[k]) this.#at(src, body[k], `${k}: does not go with await:`);
      if (body['none-within'] && (body.within || body.count))
        this.#at(src, body['none-within'], 'none-within: goes without within: and count:');
    }
    let stepAction: StepAction | undefined;
    switch (action) {
      case 'run': {
        const line = this.#string(src, get('run'));
        if (line !== undefined && this.#runLine(src, get('run') as Node, line))
          stepAction = { type: 'run', line };
        break;
      }
      case 'exec':
        stepAction = this.#exec(src, get('exec') as Node);
        break;
      case 'await': {
        const id = this.#string(src, get('await'));
        if (id !== undefined) stepAction = { type: 'await', id };
        break;
      }
      default: {
        const value = this.#commandValue(src, body[action] as Pair, this.#s.kinds.get(action) as StepKind);
        if (value) stepAction = { type: 'command', kind: action, value };
      }
    }
    const compensateNode = get('compensate');
    const compensate: StepDef[] = [];
    if (compensateNode !== undefined) {
      if (isSeq(compensateNode)) compensate.push(...(await this.#steps(src, compensateNode, stack)));
      else compensate.push(...(await this.#step(src, compensateNode, stack)));
    }
    const background = get('background');
    const bg = background === undefined ? false : this.#js(src, background);
    if (typeof bg !== 'boolean') this.#at(src, background, 'background: expected true or false');
    const count = get('count');
    const countV = count === undefined ? undefined : this.#js(src, count);
    if (countV !== undefined && !(Number.isInteger(countV) && (countV as number) >= 1))
      this.#at(src, count, 'count: expected a whole number >= 1');
    const name = this.#string(src, get('name'));
    const id = this.#string(src, get('id'));
    if (id !== undefined && !/^[A-Za-z_][\w-]*$/.test(id))
      this.#at(src, get('id'), `id '${id}': letters, digits, _ and - only`);
    if (!stepAction) return [];
    const capture = this.#capture(src, get('capture'));
    const expect = this.#expect(src, get('expect'), 'expect');
    const until = this.#expect(src, get('until'), 'until');
    const expectExit = this.#exitCodes(src, get('expect-exit'));
    const every = this.#duration(src, get('every'), 'every');
    const within = this.#duration(src, get('within'), 'within');
    const noneWithin = this.#duration(src, get('none-within'), 'none-within');
    const ifNode = get('if');
    if (ifNode !== undefined && isMap(ifNode)) this.#expect(src, ifNode, 'if');
    const step: StepDef = {
      loc,
      file: src.path,
      dir: src.dir,
      action: stepAction,
      background: bg === true,
      compensate,
      ...(name !== undefined ? { name } : {}),
      ...(id !== undefined ? { id } : {}),
      ...(capture ? { capture } : {}),
      ...(expect ? { expect } : {}),
      ...(until ? { until } : {}),
      ...(expectExit ? { expectExit } : {}),
      ...(every !== undefined ? { every } : {}),
      ...(within !== undefined ? { within } : {}),
      ...(countV !== undefined ? { count: countV as number } : {}),
      ...(noneWithin !== undefined ? { noneWithin } : {}),
      ...(ifNode !== undefined ? { if: this.#js(src, ifNode) } : {}),
    };
    return [step];
  }

  async #include(src: Src, pair: Pair, varsNode: Node | undefined, stack: string[]): Promise<StepDef[]> {
    const rel = this.#string(src, pair.value as Node);
    if (rel === undefined) return [];
    const path = resolve(src.dir, rel);
    if (stack.includes(path)) {
      this.#at(src, pair, `include cycle: ${[...stack, path].map((p) => this.#shown(p)).join(' -> ')}`);
      return [];
    }
    let frag = this.#fragments.get(path);
    if (frag === undefined) {
      const fsrc = await this.#parse(path);
      if (!fsrc) {
        if (!this.problems.some((p) => p.file === this.#shown(path)))
          this.#at(src, pair, `include: cannot read ${rel}`);
        this.#fragments.set(path, null);
        return [];
      }
      const root = fsrc.doc.contents;
      if (!isMap(root) || !isSeq(root.get('steps', true)) || root.has('checks')) {
        this.#at(src, pair, `include: ${rel} is not a fragment (a file whose top level is steps:)`);
        this.#fragments.set(path, null);
        return [];
      }
      for (const p of root.items) {
        const k = String(isScalar(p.key) ? p.key.value : p.key);
        if (k !== 'steps') this.#at(fsrc, p, `a fragment holds only steps: (found '${k}')`);
      }
      frag = { src: fsrc, node: root.get('steps', true) as Node };
      this.#fragments.set(path, frag);
    }
    if (frag === null) return [];
    const vars = varsNode === undefined ? undefined : this.#vars(src, varsNode);
    const steps = await this.#steps(frag.src, frag.node, [...stack, path]);
    if (!vars) return steps;
    const withVars = (s: StepDef): StepDef => ({
      ...s,
      vars: { ...vars, ...(s.vars ?? {}) },
      compensate: s.compensate.map(withVars),
    });
    return steps.map(withVars);
  }

  #runLine(src: Src, node: Node, line: string): boolean {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      this.#at(src, node, `run: ${(err as Error).message}`);
      return false;
    }
    const kind = findKind(this.#s.kinds, words);
    if (!kind) {
      const head = words.slice(0, 2).join('.');
      this.#at(
        src,
        node,
        `run: '${words.slice(0, 2).join(' ')}' is not a comms-cli command${didYouMean(head, this.#s.kinds.keys())}`,
      );
      return false;
    }
    for (const w of words.slice(kind.words.length)) {
      if (w === '--') break;
      const m = /^--([a-z0-9][\w-]*)/i.exec(w);
      if (!m) continue;
      const name = m[1] as string;
      if (['json', 'quiet', 'verbose', 'show-secrets', 'no-color', 'debug', 'raw', 'lines'].includes(name)) {
        this.#at(
          src,
          node,
          `run: --${name} is not allowed in a step (the runner reads every step's --json result)`,
        );
        return false;
      }
      if (!kind.options.has(name)) {
        this.#at(
          src,
          node,
          `run: ${kind.path.replace('.', ' ')} has no option --${name}${didYouMean(name, kind.options.keys())}`,
        );
        return false;
      }
    }
    if (words.includes('@-')) {
      this.#at(src, node, 'run: @- (stdin) is not available in a step');
      return false;
    }
    return this.#linePositionals(src, node, kind, words.slice(kind.words.length));
  }

  /**
   * The positionals of a `run:` line: as many as the command requires, and each one the command can
   * check statically (a URL) checked when the line gives them all. A short flag (`-H`) may or may not
   * take the next word: then the line is left to the command.
   */
  #linePositionals(src: Src, node: Node, kind: StepKind, args: readonly string[]): boolean {
    const given: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const w = args[i] as string;
      if (w === '--') {
        given.push(...args.slice(i + 1));
        break;
      }
      if (w.startsWith('--')) {
        const o = kind.options.get(w.slice(2));
        if (o && !o.boolean && !w.includes('=')) i++;
        continue;
      }
      if (w.startsWith('-') && w.length > 1) return true;
      given.push(w);
    }
    const needed = kind.positionals.filter((p) => p.onLine);
    if (given.length < needed.length) {
      this.#at(
        src,
        node,
        `run: ${kind.words.join(' ')} needs ${needed
          .slice(given.length)
          .map((p) => p.name)
          .join(', ')}`,
      );
      return false;
    }
    if (kind.checkLine) {
      if (given.some((w) => w.includes('{{'))) return true;
      try {
        kind.checkLine(given);
        return true;
      } catch (err) {
        const hint = (err as { hint?: unknown }).hint;
        this.#at(src, node, `run: ${(err as Error).message}${typeof hint === 'string' ? ` (${hint})` : ''}`);
        return false;
      }
    }
    if (given.length !== kind.positionals.length) return true;
    let ok = true;
    kind.positionals.forEach((p, i) => {
      const text = given[i] as string;
      if (!p.parse || text.includes('{{')) return;
      try {
        p.parse(text);
      } catch (err) {
        const hint = (err as { hint?: unknown }).hint;
        this.#at(
          src,
          node,
          `run: ${p.name}: ${(err as Error).message}${typeof hint === 'string' ? ` (${hint})` : ''}`,
        );
        ok = false;
      }
    });
    return ok;
  }

  #exec(src: Src, node: Node): StepAction | undefined {
    const v = this.#js(src, node);
    if (typeof v === 'string') return { type: 'exec', command: v, shell: false, env: {} };
    if (!isMap(node)) {
      this.#at(src, node, 'exec: expected a command line or {command, shell, env, expect-exit}');
      return undefined;
    }
    for (const p of node.items) {
      const k = String(isScalar(p.key) ? p.key.value : p.key);
      if (!EXEC_KEYS[k]) this.#at(src, p, `exec: unknown key '${k}'${didYouMean(k, Object.keys(EXEC_KEYS))}`);
    }
    const o = v as Loose;
    const command = o.command;
    if (
      !(
        typeof command === 'string' ||
        (Array.isArray(command) && command.length > 0 && command.every((w) => typeof w === 'string'))
      )
    ) {
      this.#at(src, node, 'exec: command: expected a command line or a list of words');
      return undefined;
    }
    if (o.shell !== undefined && typeof o.shell !== 'boolean')
      this.#at(src, node, 'exec: shell: expected true or false');
    if (typeof command === 'string' && o.shell !== true) {
      try {
        if (splitWords(command).length === 0) this.#at(src, node, 'exec: command is empty');
      } catch (err) {
        this.#at(src, node, `exec: ${(err as Error).message}`);
      }
    }
    const envNode = node.get('env', true) as Node | undefined;
    const env = this.#vars(src, envNode);
    const exitNode = node.get('expect-exit', true) as Node | undefined;
    const exits = this.#exitCodes(src, exitNode);
    return {
      type: 'exec',
      command: command as string | string[],
      shell: o.shell === true,
      env,
      ...(exits ? { expectExit: exits } : {}),
    };
  }

  /** A command step's value: positionals by name, options by long flag name, each type-checked. */
  #commandValue(src: Src, pair: Pair, kind: StepKind): Loose | undefined {
    const node = pair.value as Node | null;
    if (node === null || (isScalar(node) && node.value === null)) {
      const missing = kind.positionals.filter((p) => p.required);
      if (missing.length > 0) {
        this.#at(src, pair, `${kind.path}: needs ${missing.map((p) => p.name).join(', ')}`);
        return undefined;
      }
      return {};
    }
    if (!isMap(node)) {
      this.#at(
        src,
        node,
        `${kind.path}: expected a map of arguments and options, e.g. {${kind.positionals.map((p) => `${p.name}: ...`).join(', ')}}`,
      );
      return undefined;
    }
    const out: Loose = {};
    const positional = new Set(kind.positionals.map((p) => p.name));
    if (kind.path === 'http') positional.add('payload');
    for (const p of node.items) {
      const name = String(isScalar(p.key) ? p.key.value : p.key);
      const value = this.#js(src, p.value as Node);
      out[name] = value;
      if (positional.has(name)) {
        const data = isDataOption(kind.path, name);
        if (!data && (value === null || typeof value === 'object'))
          this.#at(src, p, `${kind.path}: ${name}: expected text, got ${describe(value)}`);
        else this.#positionalValue(src, p, kind, name, value);
        continue;
      }
      const o = kind.options.get(name);
      if (!o) {
        const why = [
          'json',
          'quiet',
          'verbose',
          'show-secrets',
          'no-color',
          'color',
          'debug',
          'raw',
          'lines',
        ].includes(name)
          ? ' (output flags are not allowed in a step: the runner reads every result with --json)'
          : didYouMean(name, [...positional, ...kind.options.keys()]);
        this.#at(src, p, `${kind.path}: unknown option '${name}'${why}`);
        continue;
      }
      this.#optionValue(src, p, kind.path, o, value, isDataOption(kind.path, name));
    }
    if (kind.path === 'http' && out.payload !== undefined && out.data !== undefined)
      this.#at(src, pair, 'http: payload and data mean the same; give one');
    for (const p of kind.positionals)
      if (p.required && out[p.name] === undefined) this.#at(src, pair, `${kind.path}: needs ${p.name}`);
    return out;
  }

  /** A positional whose command can check it statically (a URL), when it holds no template. */
  #positionalValue(src: Src, at: Pair, kind: StepKind, name: string, value: unknown): void {
    const parse = kind.positionals.find((p) => p.name === name)?.parse;
    if (!parse || (typeof value !== 'string' && typeof value !== 'number')) return;
    const text = String(value);
    if (text.includes('{{')) return;
    try {
      parse(text);
    } catch (err) {
      const hint = (err as { hint?: unknown }).hint;
      this.#at(
        src,
        at,
        `${kind.path}: ${name}: ${(err as Error).message}${typeof hint === 'string' ? ` (${hint})` : ''}`,
      );
    }
  }

  #optionValue(src: Src, at: Pair, where: string, o: StepOption, value: unknown, data: boolean): boolean {
    const bad = (msg: string): boolean => {
      this.#at(src, at, `${where}: ${o.name}: ${msg}`);
      return false;
    };
    if (o.boolean) {
      if (typeof value !== 'boolean' && !(typeof value === 'string' && value.includes('{{')))
        return bad(`is a switch: expected true or false, got ${describe(value)}`);
      return true;
    }
    if (data && value !== null && typeof value === 'object') return true;
    const values: unknown[] = [];
    if (Array.isArray(value)) {
      if (!o.repeatable) return bad(`takes one value, got a list`);
      values.push(...value);
    } else if (value !== null && typeof value === 'object') {
      if (!o.mapSyntax) return bad(`expected ${o.repeatable ? 'a value or a list' : 'a value'}, got a map`);
      for (const [k, v] of Object.entries(value))
        values.push(
          `${k}${o.mapSyntax}${v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
        );
    } else values.push(value);
    for (const v of values) {
      if (v === null || v === undefined) return bad('needs a value');
      if (typeof v === 'boolean') return bad(`takes a value, not ${v}`);
      if (typeof v === 'object') return bad(`expected text, got ${describe(v)}`);
      const text = String(v);
      if (text === '@-' || (o.name === 'data' && text === '@-'))
        return bad('@- (stdin) is not available in a step');
      if (text.includes('{{')) continue;
      if (o.parse) {
        try {
          o.parse(text, `--${o.name}`);
        } catch (err) {
          this.#at(src, at, `${where}: ${(err as Error).message}`);
          return false;
        }
      }
    }
    return true;
  }
}

/**
 * Where the first quoted scalar (or flow map/sequence) that never closes starts. The parser reports a
 * missing closing quote or bracket where it gave up (often the end of the file); a person needs the
 * line it was opened on.
 */
function unclosedAt(text: string, what: 'quote' | '{' | '['): number | undefined {
  let found: number | undefined;
  const visit = (node: unknown): void => {
    if (found !== undefined || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const t = node as { type?: unknown; offset?: unknown; source?: unknown; start?: unknown; end?: unknown };
    if (typeof t.offset === 'number') {
      if (
        what === 'quote' &&
        (t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar') &&
        typeof t.source === 'string' &&
        !quoteCloses(t.source)
      ) {
        found = t.offset;
        return;
      }
      if (
        what !== 'quote' &&
        t.type === 'flow-collection' &&
        (t.start as { source?: unknown } | null)?.source === what &&
        Array.isArray(t.end) &&
        !t.end.some((x: unknown) => {
          const type = (x as { type?: unknown } | null)?.type;
          return type === 'flow-map-end' || type === 'flow-seq-end';
        })
      ) {
        found = t.offset;
        return;
      }
    }
    for (const v of Object.values(node)) visit(v);
  };
  for (const token of new Parser().parse(text)) visit(token);
  return found;
}

/** Does a quoted scalar's source end with its closing quote? */
function quoteCloses(source: string): boolean {
  const q = source[0];
  const body = source.slice(1);
  const run = body.length - body.replace(q === "'" ? /'+$/ : /\\*"$/, '').length;
  if (q === "'") return run % 2 === 1;
  // `"` closes when the backslashes before it are even (`\\"` closes, `\"` does not).
  return run > 0 && run % 2 === 1;
}

function describe(v: unknown): string {
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function problemAt(loc: string, message: string): Problem {
  const m = /^(.*):(\d+):(\d+)$/.exec(loc);
  return { file: m?.[1] ?? loc, line: Number(m?.[2] ?? 1), col: Number(m?.[3] ?? 1), message };
}

/** The step kind a command line starts with (longest match of its words). */
export function findKind(
  kinds: ReadonlyMap<string, StepKind>,
  words: readonly string[],
): StepKind | undefined {
  for (let n = Math.min(words.length, 3); n >= 1; n--) {
    const k = kinds.get(words.slice(0, n).join('.'));
    if (k) return k;
  }
  return undefined;
}

/** A small RFC 4180 CSV reader (quotes, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((c) => c !== '')) rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  row.push(cell);
  if (row.some((c) => c !== '')) rows.push(row);
  return rows.map((r) => r.map((c) => c.trim()));
}

/** Files and directories to check files, in path order; fragments are left out. */
export async function collectFiles(
  args: readonly string[],
  cwd: string,
): Promise<{ files: string[]; problems: Problem[] }> {
  const files: string[] = [];
  const problems: Problem[] = [];
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else if (CHECK_FILE.test(e.name)) out.push(p);
    }
    return out;
  };
  for (const arg of args.length > 0 ? args : ['.']) {
    const p = resolve(cwd, arg);
    try {
      const st = await stat(p);
      if (st.isDirectory()) files.push(...(await walk(p)));
      else files.push(p);
    } catch {
      problems.push({ file: arg, line: 1, col: 1, message: 'no such file or directory' });
    }
  }
  return { files: [...new Set(files)], problems };
}
