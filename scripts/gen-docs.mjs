// Writes the option tables of the docs from the option tables of the BUILT program (run `npm run build`
// first, or `npm run docs`), so --help, the docs and the runtime read one declaration.
//
//   node scripts/gen-docs.mjs           rewrite every generated part of README.md, CONTRIBUTING.md, docs/*.md
//   node scripts/gen-docs.mjs --check   exit 1 naming the file when a generated part is stale, a command has
//                                       no table, a marker names no command, or a relative link is broken
//
// A generated part sits between `<!-- options:COMMAND PATH -->` (e.g. `options:grpc call`) and
// `<!-- /options -->`. Options a command shares with everyone (the resilience, load, output and TLS tables)
// are one row linking to the group's own table, `<!-- options:@resilience -->` and so on, when the command
// takes the group exactly as declared; a command that declares any of them differently lists them all.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

/** The shared option tables, where they are built from, and the page that documents each. */
const GROUPS = [
  {
    name: 'resilience',
    module: 'dist/command/shared-options.js',
    table: 'RESILIENCE_OPTIONS',
    page: 'docs/resilience.md',
  },
  { name: 'load', module: 'dist/load/options.js', table: 'LOAD_OPTIONS', page: 'docs/load.md' },
  { name: 'TLS', module: 'dist/command/tls-options.js', table: 'TLS_OPTIONS', page: 'docs/http.md' },
  {
    name: 'output',
    module: 'dist/command/shared-options.js',
    table: 'OUTPUT_OPTIONS',
    page: 'docs/output-and-exit-codes.md',
  },
];

async function importBuilt(file) {
  const full = join(root, file);
  if (!existsSync(full)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return import(pathToFileURL(full).href);
}

/** One row's fields from a commander Option or an option-table entry. */
function rowOf(o) {
  const isEntry = 'help' in o;
  const flags = o.flags;
  const help = isEntry ? o.help : (o.description ?? '');
  let def = isEntry ? o.defaultText : o.defaultValueDescription;
  if (def === undefined && !isEntry) {
    const v = o.defaultValue;
    if (v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0))
      def = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const choices = isEntry ? o.choices : o.argChoices;
  return { flags, help, def: def ?? '', choices: choices ?? [] };
}

/** Text safe inside a table cell: `|` escaped (also inside code spans, as GitHub reads them). */
const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text) => (text === '' ? '' : `\`${cell(text)}\``);

function meaning(row) {
  return row.choices.length ? `${row.help} (one of: ${row.choices.join(', ')})` : row.help;
}

function renderRows(rows) {
  return rows.map((r) => `| ${code(r.flags)} | ${code(r.def)} | ${cell(meaning(r))} |`);
}

const HEADER = ['| option | default | meaning |', '| --- | --- | --- |'];

function sameRow(a, b) {
  return a.flags === b.flags && a.help === b.help && a.def === b.def && a.choices.join() === b.choices.join();
}

/** The table of one command, shared groups collapsed, written for a page at `pagePath`. */
function commandTable(cmd, groups, pagePath) {
  const rows = cmd.options.filter((o) => !o.hidden).map(rowOf);
  const byFlags = new Map(rows.map((r) => [r.flags, r]));
  const collapsed = new Map(); // flags -> group
  for (const group of groups) {
    // Only a group the command takes exactly as declared becomes one row; otherwise every row shows.
    if (!group.rows.every((g) => byFlags.has(g.flags) && sameRow(byFlags.get(g.flags), g))) continue;
    for (const g of group.rows) collapsed.set(g.flags, group);
  }
  const lines = [...HEADER];
  const shown = new Set();
  for (const r of rows) {
    const group = collapsed.get(r.flags);
    if (!group) {
      lines.push(...renderRows([r]));
      continue;
    }
    if (shown.has(group)) continue;
    shown.add(group);
    const link = `${relative(dirname(pagePath), group.page) || '.'}#${group.anchor}`;
    const names = group.rows.map((g) => `\`${cell(longFlag(g.flags))}\``).join(', ');
    lines.push(`| [${group.name} options](${link}) | | ${names} |`);
  }
  return lines.join('\n');
}

const longFlag = (flags) => /--[a-z0-9-]+/i.exec(flags)?.[0] ?? flags;

function pathOf(cmd) {
  const names = [];
  for (let c = cmd; c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function allCommands(program) {
  const out = [];
  const walk = (c) => {
    for (const sub of c.commands) {
      out.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return out;
}

/** A top-level command whose options equal those of a subcommand of the same name (`publish` = `nats publish`). */
function isAlias(cmd, commands) {
  if (cmd.parent?.parent) return false;
  const flags = cmd.options.map((o) => o.flags).join('\n');
  return commands.some(
    (o) =>
      o !== cmd &&
      o.parent?.parent &&
      o.name() === cmd.name() &&
      o.options.map((x) => x.flags).join('\n') === flags,
  );
}

// ---- markdown files and links ----

function markdownFiles() {
  const files = ['README.md', 'CONTRIBUTING.md'].filter((f) => existsSync(join(root, f)));
  const docs = join(root, 'docs');
  if (existsSync(docs))
    for (const f of readdirSync(docs).sort()) if (f.endsWith('.md')) files.push(join('docs', f));
  return files;
}

/** GitHub's heading anchors. */
function anchorsOf(markdown) {
  const seen = new Map();
  const anchors = new Set();
  for (const line of stripFences(markdown, true).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Markdown without fenced blocks (and without inline code spans unless `keepSpans`). */
function stripFences(markdown, keepSpans = false) {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return keepSpans ? text : text.replace(/`[^`\n]*`/g, '``');
}

function brokenLinks(file, markdown, readText) {
  const problems = [];
  const text = stripFences(markdown);
  for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [pathPart, anchor] = target.split('#');
    const dest = pathPart === '' ? file : join(dirname(file), decodeURIComponent(pathPart));
    const full = resolve(root, dest);
    if (!existsSync(full)) {
      problems.push(`${file}: link to ${target}: ${dest} does not exist`);
      continue;
    }
    if (anchor !== undefined && dest.endsWith('.md') && !anchorsOf(readText(dest)).has(anchor))
      problems.push(`${file}: link to ${target}: no heading '#${anchor}' in ${dest}`);
  }
  return problems;
}

// ---- main ----

const { buildProgram } = await importBuilt('dist/cli/program.js');
const noop = () => {};
const program = await buildProgram({
  signal: new AbortController().signal,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  setExit: noop,
  run: async () => 0,
});

const groups = [];
for (const g of GROUPS) {
  const mod = await importBuilt(g.module);
  const table = mod[g.table];
  if (!table)
    throw new Error(`${g.module} no longer exports ${g.table}: update GROUPS in scripts/gen-docs.mjs`);
  groups.push({ ...g, anchor: `${g.name.toLowerCase()}-options`, rows: Object.values(table).map(rowOf) });
}

const commands = allCommands(program);
const tables = new Map(); // marker key -> (pagePath) => markdown
for (const cmd of commands) {
  if (cmd.options.length === 0) continue;
  tables.set(pathOf(cmd), (page) => commandTable(cmd, groups, page));
}
for (const g of groups)
  tables.set(`@${g.name.toLowerCase()}`, () => [...HEADER, ...renderRows(g.rows)].join('\n'));

const problems = [];
const stale = [];
const covered = new Set();
const MARKER = /(<!-- options:([^>]+?) -->\n)([\s\S]*?)(<!-- \/options -->)/g;
const contents = new Map();
for (const file of markdownFiles()) contents.set(file, readFileSync(join(root, file), 'utf8'));

for (const [file, before] of contents) {
  // Fenced code blocks are left alone: they may show a marker as an example.
  const after = before
    .split(/(^```[\s\S]*?^```)/m)
    .map((part) =>
      part.startsWith('```')
        ? part
        : part.replace(MARKER, (whole, open, key, _body, close) => {
            const make = tables.get(key.trim());
            if (!make) {
              problems.push(`${file}: <!-- options:${key} --> names no command with options`);
              return whole;
            }
            covered.add(key.trim());
            return `${open}${make(file)}\n${close}`;
          }),
    )
    .join('');
  if (after !== before) {
    stale.push(file);
    contents.set(file, after);
  }
}

for (const key of tables.keys()) {
  const cmd = commands.find((c) => pathOf(c) === key);
  if (covered.has(key) || (cmd && isAlias(cmd, commands))) continue;
  problems.push(`no docs page has <!-- options:${key} --> (add it to the page documenting that command)`);
}
for (const g of groups) {
  const text = contents.get(g.page) ?? '';
  if (!text.includes(`<!-- options:@${g.name.toLowerCase()} -->`))
    problems.push(
      `${g.page} must hold <!-- options:@${g.name.toLowerCase()} --> (linked from command tables)`,
    );
  else if (!anchorsOf(text).has(g.anchor)) problems.push(`${g.page} needs a heading '${g.name} options'`);
}

const readText = (f) => contents.get(f) ?? readFileSync(join(root, f), 'utf8');
for (const [file, text] of contents) problems.push(...brokenLinks(file, text, readText));

if (check) {
  for (const file of stale)
    problems.push(`${file}: generated option tables are stale (run \`npm run docs\`)`);
} else {
  for (const file of stale) {
    writeFileSync(join(root, file), contents.get(file));
    console.log(`wrote ${file}`);
  }
}
for (const p of problems) console.error(`gen-docs: ${p}`);
process.exitCode = problems.length ? 1 : 0;
