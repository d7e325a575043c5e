import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The import graph of src/, checked against the architecture's rules (docs/architecture.md).
 * The rules are data, here at the top: to add a slice or a layer, edit these tables.
 */

/**
 * Layers, top to bottom. A file may import files of its own layer or of a lower one, never of a
 * higher one: cli -> slices -> command -> load/output -> core/middleware/errors.
 * Paths are folders under the repository root; `*` stands for one folder name.
 */
const LAYERS: ReadonlyArray<{ name: string; folders: readonly string[] }> = [
  { name: 'cli', folders: ['src/cli'] },
  {
    name: 'slice',
    folders: [
      'src/transports/*',
      'src/events',
      'src/servers',
      'src/demo',
      // Planned slices (check files, distributed load): listed now so they start under the rules.
      'src/check',
      'src/worker',
      'src/report',
      'src/completion',
    ],
  },
  { name: 'command', folders: ['src/command'] },
  { name: 'load/output', folders: ['src/load', 'src/output'] },
  { name: 'core', folders: ['src/core', 'src/middleware', 'src/errors', 'src/types'] },
];

/** A slice reaches another slice's runners only by running its command line (ctx.run), never by import. */
const COMMANDS_FOLDER = 'commands';

/** No import circle anywhere in src/, type-only imports included (they still tie the files together). */
const ALLOW_CYCLES = false;

// ---- the graph ----

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** Module specifiers of every import: static, `import type`, re-exports, `import()` and `typeof import()`. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from / export { x } from
    /\bimport\s*['"]([^'"]+)['"]/g, // import 'side-effect'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x'), await import('x'), typeof import('x')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1] as string);
  return specs;
}

/** The src file a relative specifier names (`./x.js` is `./x.ts`), or undefined for packages. */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.d.ts'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

const rel = (file: string) => relative(ROOT, file).split('\\').join('/');

const graph = new Map<string, string[]>();
for (const file of tsFiles(SRC)) {
  const targets = importsOf(readFileSync(file, 'utf8'))
    .map((spec) => resolveImport(file, spec))
    .filter((t): t is string => t !== undefined);
  graph.set(rel(file), [...new Set(targets.map(rel))]);
}

// ---- the rules, applied ----

interface Place {
  layer: number;
  layerName: string;
  /** The slice folder (`src/transports/http`), for files in a slice. */
  slice?: string;
}

function folderMatches(pattern: string, file: string): string | undefined {
  const parts = pattern.split('/');
  const fileParts = file.split('/');
  if (fileParts.length <= parts.length) return undefined;
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '*' && parts[i] !== fileParts[i]) return undefined;
  return fileParts.slice(0, parts.length).join('/');
}

function placeOf(file: string): Place | undefined {
  for (const [layer, def] of LAYERS.entries()) {
    for (const folder of def.folders) {
      const matched = folderMatches(folder, file);
      if (matched) return { layer, layerName: def.name, ...(def.name === 'slice' ? { slice: matched } : {}) };
    }
  }
  return undefined;
}

function inCommandsFolder(file: string, slice: string): boolean {
  return file
    .slice(slice.length + 1)
    .split('/')
    .slice(0, -1)
    .includes(COMMANDS_FOLDER);
}

/** Every group of files tied by import circles (Tarjan's strongly connected components). */
function cycles(): Array<{ files: number; cycle: string[] }> {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    order.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!order.has(v)) visit(v);
  return components.map((c) => ({ files: c.length, cycle: oneCycle(c) }));
}

/** One concrete cycle through a strongly connected component: a -> b -> ... -> a. */
function oneCycle(component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0] as string;
  const path: string[] = [start];
  const seen = new Set<string>([start]);
  const walk = (v: string): boolean => {
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) return true;
      if (seen.has(w)) continue;
      seen.add(w);
      path.push(w);
      if (walk(w)) return true;
      path.pop();
    }
    return false;
  };
  walk(start);
  return [...path, start];
}

function report(lines: string[]): string {
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}

describe('the import graph of src/', () => {
  it('is read: static, type-only and dynamic imports are all seen', () => {
    expect(importsOf("import type { A } from './a.js';\nimport { b } from './b.js';")).toEqual([
      './a.js',
      './b.js',
    ]);
    expect(importsOf("const { c } = await import('./c.js');\ntype G = typeof import('g');")).toEqual([
      './c.js',
      'g',
    ]);
    expect(
      importsOf("export { d } from './d.js';\nimport './e.js';\n// import x from './ignored.js'"),
    ).toEqual(['./d.js', './e.js']);
    expect(importsOf("import {\n  f,\n  type F,\n} from './f.js';")).toEqual(['./f.js']);
    expect(graph.size).toBeGreaterThan(20);
    expect(graph.get('src/transports/http/register.ts')).toContain('src/transports/http/commands/request.ts');
  });

  it('every file belongs to a layer (a new folder is placed in LAYERS first)', () => {
    const unplaced = [...graph.keys()].filter((f) => !placeOf(f));
    expect(unplaced, report(unplaced)).toEqual([]);
  });

  it('has no import circle', () => {
    const found = ALLOW_CYCLES ? [] : cycles();
    const lines = found.map(
      (c) => `${c.files} files tied by import circles; one of them: ${c.cycle.join(' -> ')}`,
    );
    expect(lines, report(lines)).toEqual([]);
  });

  it('imports point only down: cli -> slices -> command -> load/output -> core/middleware/errors', () => {
    const up: string[] = [];
    for (const [from, targets] of graph) {
      const a = placeOf(from);
      if (!a) continue;
      for (const to of targets) {
        const b = placeOf(to);
        if (b && b.layer < a.layer) up.push(`${from} (${a.layerName}) imports ${to} (${b.layerName})`);
      }
    }
    expect(up, report(up)).toEqual([]);
  });

  it("a slice never imports another slice's commands/", () => {
    const sideways: string[] = [];
    for (const [from, targets] of graph) {
      const a = placeOf(from);
      if (!a?.slice) continue;
      for (const to of targets) {
        const b = placeOf(to);
        if (b?.slice && b.slice !== a.slice && inCommandsFolder(to, b.slice))
          sideways.push(`${from} (${a.slice}) imports ${to} (${b.slice}'s ${COMMANDS_FOLDER}/)`);
      }
    }
    expect(sideways, report(sideways)).toEqual([]);
  });
});
