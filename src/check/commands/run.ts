import { accessSync, constants, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CommandContext } from '../../command/context.js';
import { BreakerScope } from '../../core/breaker-scope.js';
import { performance } from '../../core/clock.js';
import { formatMs } from '../../core/duration.js';
import { resolveWriteTarget, type WriteTarget } from '../../core/safe-file.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { checkBreakerStateFile } from '../../middleware/breaker-state.js';
import { colourFor } from '../../output/colour.js';
import { stepCatalogue } from '../catalogue.js';
import type { CheckEvent, CheckRunEvent, RunEvent, StepEvent } from '../events.js';
import type { CheckValues } from '../flags.js';
import { collectFiles, Loader } from '../load.js';
import { type CheckDef, type FileDef, formatProblem, type Problem } from '../model.js';
import { type Progress, startProgress } from '../progress.js';
import { toReportEvent } from '../report-events.js';
import {
  hasReport,
  type ReportEvent,
  type ReportFormat,
  renderJson,
  renderReport,
  writeReportText,
} from '../reports/index.js';
import { CheckRun, rowName } from '../run-check.js';
import { jsonSchema } from '../schema.js';
import { renderString, truthy } from '../template.js';

type Loose = Record<string, unknown>;

interface Planned {
  file: FileDef;
  check: CheckDef;
  name: string;
  row: Loose | undefined;
  /** Why it will not run (skip:, --filter/--tag leave it out entirely instead). */
  skip?: string;
}

/** `--var name=value`: the value typed as a YAML scalar. */
function parseVars(raw: readonly string[]): { vars: Loose; problems: string[] } {
  const vars: Loose = {};
  const problems: string[] = [];
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      problems.push(`--var '${item}': expected NAME=VALUE`);
      continue;
    }
    const text = item.slice(eq + 1);
    let value: unknown = text;
    try {
      const v = parseYaml(text);
      value = v === null || typeof v !== 'object' ? (v ?? (text === '' ? '' : null)) : text;
    } catch {
      value = text;
    }
    vars[item.slice(0, eq)] = value;
  }
  return { vars, problems };
}

async function readVarFile(path: string): Promise<Loose> {
  const text = await readFile(path, 'utf8');
  if (/\.env$/i.test(path) || /(^|\/)\.env/.test(path)) {
    const vars: Loose = {};
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][\w]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m || line.trim().startsWith('#')) continue;
      let v = m[2] ?? '';
      if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))
        v = v.slice(1, -1);
      vars[m[1] as string] = v;
    }
    return vars;
  }
  const v = parseYaml(text) as unknown;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a YAML map of vars');
  return v as Loose;
}

function tagSelected(tags: readonly string[], wanted: readonly string[]): boolean {
  const include = wanted.filter((t) => !t.startsWith('!'));
  const exclude = wanted.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  if (exclude.some((t) => tags.includes(t))) return false;
  return include.length === 0 || include.some((t) => tags.includes(t));
}

/**
 * `comms-cli check`: collect files, validate all of them (nothing is sent while any is invalid), then
 * run the checks file by file (`--jobs` files at once), print one line per check, write the reports,
 * and return the contract's exit code.
 */
export async function runCheckCommand(
  paths: readonly string[],
  o: CheckValues,
  program: Command,
  ctx: CommandContext,
): Promise<number> {
  const started = performance.now();
  const c = colourFor(ctx.stderr, o.color === false ? false : undefined);
  // While checks run on a TTY, lines go above the progress line (see progress.ts).
  let progress: Progress | undefined;
  const err = (line: string) => {
    if (progress) progress.write(`${line}\n`);
    else ctx.stderr.write(`${line}\n`);
  };
  const kinds = stepCatalogue(program);
  if (o.printSchema) {
    ctx.stdout.write(`${JSON.stringify(jsonSchema(kinds), null, 2)}\n`);
    return ExitCode.ok;
  }
  const usage: string[] = [];
  const reports: Array<{ format: string; path: string }> = [];
  for (const r of o.report) {
    const m = /^([a-z]+):(.+)$/.exec(r);
    if (!m) {
      usage.push(`--report '${r}': expected FORMAT:PATH (junit, tap, json, html; - is stdout)`);
      continue;
    }
    if (!(await hasReport(m[1] as string))) {
      usage.push(`--report ${m[1]}: not available (formats: json, junit, tap, html)`);
      continue;
    }
    if (m[2] !== '-') {
      // As `http -o`: a report that could never be written is an input error now, before anything is sent.
      const why = reportPathProblem(m[2] as string);
      if (why !== undefined) {
        usage.push(`cannot write --report file '${m[2]}': ${why}`);
        continue;
      }
    }
    reports.push({ format: m[1] as string, path: m[2] === '-' ? '-' : resolve(m[2] as string) });
  }
  const cli = parseVars(o.var);
  usage.push(...cli.problems);
  let varFileVars: Loose = {};
  if (o.varFile) {
    try {
      varFileVars = await readVarFile(o.varFile);
    } catch (e) {
      usage.push(`--var-file ${o.varFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  let filter: RegExp | undefined;
  if (o.filter !== undefined) {
    try {
      filter = new RegExp(o.filter);
    } catch (e) {
      usage.push(`--filter: ${(e as Error).message}`);
    }
  }
  if (o.breakerState !== undefined) {
    try {
      checkBreakerStateFile(o.breakerState);
    } catch (e) {
      usage.push((e as Error).message);
    }
  }
  if (usage.length > 0) {
    for (const u of usage) err(`${c.red('error:')} ${u}`);
    return ExitCode.usage;
  }

  // ---- load and validate everything first ----
  const cwd = process.cwd();
  const { files: paths2, problems } = await collectFiles(paths, cwd);
  const loader = new Loader({
    kinds,
    outerVars: new Set([...Object.keys(cli.vars), ...Object.keys(varFileVars)]),
    env: process.env,
    cwd,
  });
  const files: FileDef[] = [];
  for (const p of paths2) {
    if (await loader.isFragment(p)) continue;
    const f = await loader.loadFile(p);
    if (f) files.push(f);
  }
  const all: Problem[] = [...problems, ...loader.problems].sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.col - b.col : 0,
  );
  if (all.length > 0) {
    for (const p of all) err(formatProblem(p));
    err(c.red(`${all.length} problem${all.length === 1 ? '' : 's'} in check files: nothing was run`));
    return ExitCode.usage;
  }
  if (paths2.length === 0 || files.length === 0) {
    err(
      `${c.red('error:')} no check files (*.check.yaml, *.check.yml) in ${paths.length > 0 ? paths.join(' ') : '.'}`,
    );
    return ExitCode.usage;
  }

  // ---- plan: rows of each, filters, skips ----
  const plans: Planned[][] = files.map((file) => {
    const out: Planned[] = [];
    for (const check of file.checks) {
      for (const row of check.each ?? [undefined]) {
        const name = rowName(check.name, row);
        if (filter && !filter.test(`${file.name} › ${name}`)) continue;
        if (o.tag.length > 0 && !tagSelected(check.tags, o.tag)) continue;
        const p: Planned = { file, check, name, row };
        if (check.skip !== undefined) p.skip = check.skip;
        out.push(p);
      }
    }
    return out;
  });
  const total = plans.reduce((n, ps) => n + ps.length, 0);
  if (o.list) {
    for (const p of plans.flat())
      ctx.stdout.write(
        `${p.file.name} › ${p.name}${p.check.tags.length ? `  [${p.check.tags.join(', ')}]` : ''}${p.skip !== undefined ? `  (skip: ${p.skip})` : ''}\n`,
      );
    return ExitCode.ok;
  }
  if (o.dryRun) {
    if (!o.quiet)
      err(
        `${total} check${total === 1 ? '' : 's'} in ${files.length} file${files.length === 1 ? '' : 's'}: valid (nothing sent)`,
      );
    return ExitCode.ok;
  }

  // ---- run ----
  let finished = 0;
  progress = await startProgress(ctx.stderr, !o.json && !o.quiet);
  const showProgress = (what: string) =>
    progress?.update(`${finished}/${total} check${total === 1 ? '' : 's'} · ${what}`);
  showProgress('starting');
  // Ctrl-C / SIGTERM: the running step stops, armed compensations and finally still run (main.ts
  // exits at once on a second signal). Say so, so a person knows why it has not stopped yet.
  const onInterrupt = () => {
    if (!o.quiet)
      err(
        c.yellow(
          'interrupted: stopping the running step, then compensations and finally (Ctrl-C again to exit now)',
        ),
      );
  };
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  // --breaker-state: one set of breakers for the whole run, loaded on first use and saved once at the end.
  const runBreakers = o.breakerState !== undefined ? new BreakerScope(o.breakerState) : undefined;
  // The --json lines (also `--report json:`, the same lines), and the same events as the other
  // report writers read them (a step's verdict in its result, wall-clock start times).
  const events: CheckRunEvent[] = [];
  const reportEvents: ReportEvent[] = [];
  const emit = (e: CheckRunEvent, checkStarted?: number) => {
    events.push(e);
    reportEvents.push(toReportEvent(e, checkStarted));
    if (o.json) ctx.stdout.write(`${JSON.stringify(e)}\n`);
  };
  const results = new Map<Planned, CheckEvent>();
  let stopStarting = false;
  const runFile = async (ps: Planned[]) => {
    for (const p of ps) {
      const checkStarted = Date.now();
      const lines: string[] = [];
      const stepEvents: StepEvent[] = [];
      let event: CheckEvent;
      const base = {
        type: 'check' as const,
        file: p.file.name,
        name: p.name,
        steps: 0,
        ms: 0,
        ...(p.check.tags.length ? { tags: p.check.tags } : {}),
      };
      if (p.skip !== undefined) {
        event = { ...base, ok: true, exit: 0, traceId: '', skipped: p.skip };
      } else if (stopStarting || ctx.signal.aborted) {
        event = {
          ...base,
          ok: true,
          exit: 0,
          traceId: '',
          skipped: ctx.signal.aborted ? 'interrupted before it started' : 'fail-fast',
        };
      } else {
        const run = new CheckRun(
          p.file,
          p.check,
          p.name,
          p.row,
          {
            ctx,
            kinds,
            cliVars: cli.vars,
            varFileVars,
            env: process.env,
            ...(runBreakers ? { breakers: runBreakers } : {}),
            onStep: (e) => {
              stepEvents.push(e);
              showProgress(`${p.file.name} › ${p.name} · ${e.ok ? '✓' : '✗'} ${e.step}`);
              if (o.verbose && !o.quiet) {
                const mark = e.skipped ? c.dim('-') : e.ok ? c.green('✓') : c.red('✗');
                const phase = e.phase === 'main' ? '' : c.yellow(` [${e.phase}]`);
                lines.push(
                  `  ${mark} ${e.step}${phase} ${c.dim(`· ${formatMs(e.ms)}${e.ok ? '' : ` · exit ${e.exit}`}`)}`,
                );
              }
            },
          },
          ctx.signal,
        );
        if (p.check.if !== undefined) {
          let holds = true;
          try {
            const v =
              typeof p.check.if === 'string'
                ? renderString(
                    p.check.if,
                    {
                      vars: {
                        ...p.file.vars,
                        ...p.check.vars,
                        ...(p.row ?? {}),
                        ...varFileVars,
                        ...cli.vars,
                      },
                      env: process.env,
                      steps: {},
                    },
                    { lenient: true },
                  )
                : p.check.if;
            holds = truthy(v);
          } catch {
            holds = false;
          }
          if (!holds) {
            event = { ...base, ok: true, exit: 0, traceId: '', skipped: 'if: false' };
            results.set(p, event);
            emit(event, checkStarted);
            if (!o.quiet && !o.json)
              err(`${c.dim('-')} ${p.file.name} › ${p.name} ${c.dim('· skipped (if)')}`);
            continue;
          }
        }
        event = await run.run();
        if (!event.ok && o.failFast) stopStarting = true;
      }
      results.set(p, event);
      // Output stays grouped per check: its steps, then its line, written at once.
      for (const e of stepEvents) emit(e, checkStarted);
      emit(event, checkStarted);
      const head =
        event.skipped !== undefined
          ? `${c.dim('-')} ${p.file.name} › ${p.name} ${c.dim(`· skipped (${event.skipped})`)}`
          : event.ok
            ? `${c.green('✓')} ${p.file.name} › ${p.name} ${c.dim(`· ${event.steps} step${event.steps === 1 ? '' : 's'} · ${formatMs(event.ms)}`)}`
            : `${c.red('✗')} ${p.file.name} › ${p.name} ${c.dim(`· exit ${event.exit} · ${formatMs(event.ms)}`)}`;
      const out: string[] = [];
      if (!event.ok || (!o.quiet && !o.json)) out.push(head);
      if (!o.json || !event.ok) if (o.verbose || !event.ok) out.push(...lines.filter(() => o.verbose));
      if (!event.ok && event.failure) {
        const f = event.failure;
        out.push(`  ${c.red('step:')} ${f.step} ${c.dim(`(${f.at})`)}`);
        if (f.command && f.command !== f.step) out.push(`  ${c.dim('command:')} comms-cli ${f.command}`);
        out.push(`  ${c.red(f.message)}`);
        for (const d of f.details.slice(0, 6)) if (d !== f.message) out.push(`    ${d}`);
        const comps = stepEvents.filter((e) => e.phase === 'compensate');
        for (const e of comps)
          out.push(
            `  ${c.yellow('compensate:')} ${e.step} ${e.ok ? c.green('ok') : c.red(`exit ${e.exit}`)}`,
          );
        out.push(`  ${c.dim(`trace id: ${event.traceId}`)}`);
      }
      finished += 1;
      showProgress(`${p.file.name} › ${p.name} done`);
      if (out.length > 0) err(out.join('\n'));
    }
  };
  // Up to --jobs files at once.
  const queue = [...plans];
  const workers = Array.from({ length: Math.min(o.jobs, queue.length) }, async () => {
    for (;;) {
      const next = queue.shift();
      if (!next) return;
      await runFile(next);
    }
  });
  await Promise.all(workers);
  progress.stop();
  progress = undefined;
  ctx.signal.removeEventListener('abort', onInterrupt);
  try {
    await runBreakers?.persist();
  } catch (e) {
    err(`${c.red('error:')} --breaker-state ${o.breakerState}: ${(e as Error).message}`);
  }

  // ---- verdict: the first failed check in file then check order ----
  const ordered = plans
    .flat()
    .map((p) => results.get(p))
    .filter((e): e is CheckEvent => e !== undefined);
  const failed = ordered.filter((e) => !e.ok);
  const skipped = ordered.filter((e) => e.skipped !== undefined).length;
  const interrupted = ctx.signal.aborted;
  const exit = interrupted ? ExitCode.interrupted : (failed[0]?.exit ?? ExitCode.ok);
  const runEvent: RunEvent = {
    type: 'run',
    checks: ordered.length,
    passed: ordered.length - failed.length - skipped,
    failed: failed.length,
    skipped,
    ms: Math.round(performance.now() - started),
    exit,
  };
  emit(runEvent);
  if (!o.quiet && !o.json)
    err(
      `${failed.length === 0 ? c.green(`${runEvent.passed} passed`) : c.red(`${failed.length} failed`)}${failed.length > 0 ? `, ${runEvent.passed} passed` : ''}${skipped ? `, ${skipped} skipped` : ''} · ${formatMs(runEvent.ms)}`,
    );
  // Every report is attempted; one that cannot be written is comms-cli's own failure: exit 6 when the
  // checks held (the CI job did not get what it asked for). When a check failed, its exit stands, as
  // check-format.md says (the first failed check's exit), and the error line still says what was lost.
  let reportFailed = false;
  for (const r of reports) {
    try {
      const format = r.format as ReportFormat;
      const text = format === 'json' ? renderJson(events) : renderReport(format, reportEvents);
      await writeReportText(text, r.path, ctx.stdout);
    } catch (e) {
      reportFailed = true;
      err(`${c.red('error:')} could not write --report ${r.format}:${r.path}: ${writeFailure(e)}`);
    }
  }
  return reportFailed && exit === ExitCode.ok ? ExitCode.local : exit;
}

/** Why a report file could never be written (its directory is missing, not a directory, read-only). */
function reportPathProblem(file: string): string | undefined {
  let target: WriteTarget;
  try {
    target = resolveWriteTarget(file);
  } catch (e) {
    return writeFailure(e);
  }
  if (target.how === 'through') {
    try {
      if (statSync(target.path).isDirectory()) return 'is a directory';
    } catch {
      // written through when the run ends; an error then is reported then
    }
    return undefined;
  }
  try {
    if (!statSync(dirname(target.path)).isDirectory()) return 'not a directory';
    accessSync(dirname(target.path), constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : writeFailure(e);
  }
  return undefined;
}

/** A write error as a person reads it: no errno name, no syscall, no temp file name. */
function writeFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such directory';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    default:
      return code ?? (e as Error).message.split('\n')[0] ?? 'write failed';
  }
}
