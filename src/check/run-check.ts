import { spawn } from 'node:child_process';
import type { CommandContext } from '../command/context.js';
import { newTraceId, newTraceparent } from '../command/trace.js';
import { BreakerScope } from '../core/breaker-scope.js';
import { performance } from '../core/clock.js';
import { formatMs } from '../core/duration.js';
import { ExitCode } from '../errors/exit-codes.js';
import { isSecretHeader, REDACTED, redactDeep, redactUrl } from '../output/redact.js';
import { commandArgv } from './argv.js';
import type { StepKind } from './catalogue.js';
import { LineCollector } from './collect.js';
import type { CheckEvent, Failure, Phase, StepEvent } from './events.js';
import { findKind } from './load.js';
import { judge, judgeAll, show, toRegex } from './match.js';
import type { CheckDef, FileDef, StepDef } from './model.js';
import { evalPath } from './paths.js';
import { render, renderString, type Scope, TemplateError, truthy } from './template.js';
import { quoteWord, splitWords } from './words.js';

type Loose = Record<string, unknown>;

const DEFAULT_WITHIN = 30_000;
const DEFAULT_EVERY = 1_000;
/**
 * Commands that call ctx.ready once they really listen: core NATS after the SUB is flushed, JetStream
 * once the consumer exists, gRPC calls when the server's response headers arrive, `events tail` once
 * the store is open and positioned. A background step of these goes on at that moment, never earlier.
 */
const SIGNALS_READY = new Set(['nats.subscribe', 'grpc.call', 'events.tail']);
/** How long such a command may take to become ready before the step fails (exit 4). */
const READY_TIMEOUT_MS = 30_000;
/** Other commands cannot tell: taken as ready at their first object or after this long. */
const READY_FALLBACK_MS = 500;
const SECRET_NAME = /token|password|passwd|secret|key|credential|auth/i;

export interface RunnerDeps {
  readonly ctx: CommandContext;
  readonly kinds: ReadonlyMap<string, StepKind>;
  /** --var, then --var-file (lower), already typed. */
  readonly cliVars: Readonly<Loose>;
  readonly varFileVars: Readonly<Loose>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The run's breakers (`comms-cli check --breaker-state FILE`: shared by every check, loaded and saved
   * once by the run). Absent: each check has its own, in memory (contract: breaker state lives for one check).
   */
  readonly breakers?: BreakerScope;
  /** Called for every step event as it happens (NDJSON, -v lines). */
  readonly onStep: (e: StepEvent) => void;
}

interface Outcome {
  ok: boolean;
  exit: number;
  result: unknown;
  failure?: Omit<Failure, 'step' | 'at'>;
  /** The command got a response: its compensation is armed. */
  responded: boolean;
  command?: string;
}

interface Background {
  readonly id: string;
  readonly kept: unknown[];
  ended: boolean;
  exit: number | undefined;
  reported: boolean;
  readonly stop: AbortController;
  readonly done: Promise<number>;
  readonly waiters: Set<() => void>;
  stderr: LineCollector;
}

class StepFailed extends Error {}

/*
 * exec steps run in their own process group (a kill then reaches what they started). A second Ctrl-C
 * exits the process at once (cli/main.ts), which would orphan them: end them on the way out.
 */
const execGroups = new Set<number>();
let execExitHook = false;
function trackExecGroup(pid: number): void {
  if (!execExitHook) {
    execExitHook = true;
    process.once('exit', () => {
      for (const g of execGroups) {
        try {
          process.kill(-g, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    });
  }
  execGroups.add(pid);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Run one check (one row of `each`) and return its check event; step events go to deps.onStep. */
export class CheckRun {
  readonly traceId = newTraceId();
  readonly #file: FileDef;
  readonly #check: CheckDef;
  readonly #name: string;
  readonly #deps: RunnerDeps;
  readonly #interrupt: AbortSignal;
  readonly #vars: Loose = {};
  readonly #steps: Loose = {};
  readonly #bg = new Map<string, Background>();
  readonly #armed: StepDef[] = [];
  readonly #secrets: string[] = [];
  readonly #started = performance.now();
  /** Every step's CallPipeline takes its breakers from here, so a breaker opened by one step holds for the next. */
  readonly #breakers: BreakerScope;
  #count = 0;

  constructor(
    file: FileDef,
    check: CheckDef,
    name: string,
    row: Loose | undefined,
    deps: RunnerDeps,
    interrupt: AbortSignal,
  ) {
    this.#file = file;
    this.#check = check;
    this.#name = name;
    this.#deps = deps;
    this.#interrupt = interrupt;
    this.#breakers = deps.breakers ?? new BreakerScope();
    // Precedence: --var > --var-file > each row > check vars > file vars; vars are rendered once.
    const raw: Loose = { ...file.vars, ...check.vars, ...(row ?? {}), ...deps.varFileVars, ...deps.cliVars };
    for (const [k, v] of Object.entries(raw)) {
      try {
        this.#vars[k] = render(v, this.#scope(), { fresh: true });
      } catch {
        this.#vars[k] = v;
      }
    }
    for (const [k, v] of Object.entries(this.#vars))
      if (SECRET_NAME.test(k) || file.secrets.includes(k)) this.#addSecret(v);
  }

  #addSecret(v: unknown): void {
    const t =
      typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? '' : String(v);
    if (t.length >= 3 && !this.#secrets.includes(t)) this.#secrets.push(t);
  }

  #scope(extra?: Readonly<Loose>): Scope {
    return {
      vars: extra ? { ...this.#vars, ...extra } : this.#vars,
      env: this.#deps.env,
      steps: this.#steps,
    };
  }

  /** Secrets redacted: Authorization-like keys (as on the command line) and secret vars' values. */
  redact<T>(value: T): T {
    const deep = redactDeep(value);
    if (this.#secrets.length === 0) return deep as T;
    const scrub = (v: unknown): unknown => {
      if (typeof v === 'string') {
        let s = v;
        for (const secret of this.#secrets) s = s.split(secret).join(REDACTED);
        return s;
      }
      if (Array.isArray(v)) return v.map(scrub);
      if (v !== null && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
      return v;
    };
    return scrub(deep) as T;
  }

  /** A command line as shown to people: secret options and headers redacted, words quoted. */
  #display(full: readonly string[], kind: StepKind | undefined): string {
    // As a person would type it: command words, positionals, then options; no runner flags.
    let argv = full.filter((w) => w !== '--json' && w !== '--show-secrets');
    const tp = argv.indexOf('--traceparent');
    if (tp >= 0 && kind) argv = [...argv.slice(0, tp), ...argv.slice(tp + 2)];
    const dash = argv.indexOf('--');
    if (dash >= 0 && kind) {
      const words = kind.words.length;
      const positionals = argv.slice(dash + 1);
      if (!positionals.some((p) => p.startsWith('-')))
        argv = [...argv.slice(0, words), ...positionals, ...argv.slice(words, dash)];
    }
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const w = argv[i] as string;
      out.push(w);
      const m = /^--([\w-]+)$/.exec(w);
      if (!m || i + 1 >= argv.length) continue;
      const o = kind?.options.get(m[1] as string);
      if (!o || o.boolean) continue;
      const next = argv[i + 1] as string;
      i++;
      if (o.secret) out.push(REDACTED);
      else if (o.mapSyntax === ': ' && isSecretHeader(next.split(':')[0]?.trim() ?? ''))
        out.push(`${next.split(':')[0]}: ${REDACTED}`);
      else out.push(redactUrl(next));
    }
    return this.redact(
      out
        .map((w) => (w.startsWith('http') ? redactUrl(w) : w))
        .map(quoteWord)
        .join(' '),
    );
  }

  get #elapsed(): number {
    return performance.now() - this.#started;
  }

  async run(): Promise<CheckEvent> {
    const check = this.#check;
    const main = new AbortController();
    const onInterrupt = () => main.abort('interrupt');
    if (this.#interrupt.aborted) main.abort('interrupt');
    this.#interrupt.addEventListener('abort', onInterrupt, { once: true });
    const maxTimer =
      check.maxTime !== undefined ? setTimeout(() => main.abort('max-time'), check.maxTime) : undefined;
    let failure: Failure | undefined;
    let exit: number = ExitCode.ok;
    try {
      for (const step of check.steps) {
        if (main.signal.aborted) break;
        const bgFail = this.#backgroundFailure();
        if (bgFail) {
          failure = bgFail.failure;
          exit = bgFail.exit;
          break;
        }
        const o = await this.#runStep(step, 'main', main.signal);
        if (!o.ok) {
          if (main.signal.aborted) break;
          failure = this.#failureOf(step, o);
          exit = o.exit;
          break;
        }
      }
      if (main.signal.aborted && exit === ExitCode.ok) {
        if (main.signal.reason === 'max-time') {
          exit = ExitCode.timeout;
          failure = {
            step: '(check)',
            message: `max-time ${formatMs(check.maxTime ?? 0)} exceeded`,
            details: [],
            at: check.loc,
          };
        } else {
          exit = ExitCode.interrupted;
          failure = { step: '(check)', message: 'interrupted', details: [], at: check.loc };
        }
      }
    } finally {
      if (maxTimer) clearTimeout(maxTimer);
      this.#interrupt.removeEventListener('abort', onInterrupt);
    }
    // Compensations (newest first) when the check failed or was interrupted; then finally, always.
    if (exit !== ExitCode.ok) {
      for (const step of [...this.#armed].reverse()) {
        for (const c of step.compensate) await this.#runStep(c, 'compensate', new AbortController().signal);
      }
    }
    let finallyExit: number = ExitCode.ok;
    let finallyFailure: Failure | undefined;
    for (const step of check.finally) {
      const o = await this.#runStep(step, 'finally', new AbortController().signal);
      if (!o.ok && finallyExit === ExitCode.ok) {
        finallyExit = o.exit;
        finallyFailure = this.#failureOf(step, o);
      }
    }
    await this.#stopBackground();
    if (exit === ExitCode.ok && finallyExit !== ExitCode.ok) {
      exit = finallyExit;
      failure = finallyFailure;
    }
    return {
      type: 'check',
      file: this.#file.name,
      name: this.#name,
      ok: exit === ExitCode.ok,
      exit,
      ms: Math.round(this.#elapsed),
      steps: this.#count,
      ...(failure ? { failure: this.redact(failure) } : {}),
      traceId: this.traceId,
      ...(check.tags.length > 0 ? { tags: check.tags } : {}),
    };
  }

  #failureOf(step: StepDef, o: Outcome): Failure {
    return {
      step: this.#stepName(step, o.command),
      message: o.failure?.message ?? `exit ${o.exit}`,
      details: o.failure?.details ?? [],
      ...(o.command ? { command: o.command } : {}),
      at: step.loc,
    };
  }

  #stepName(step: StepDef, command: string | undefined): string {
    if (step.name !== undefined) {
      try {
        return String(renderString(step.name, this.#scope(step.vars), { lenient: true }));
      } catch {
        return step.name;
      }
    }
    if (step.action.type === 'await') return `await ${step.action.id}`;
    if (command) return command;
    if (step.action.type === 'exec')
      return `exec ${typeof step.action.command === 'string' ? step.action.command : step.action.command.join(' ')}`;
    try {
      const text =
        step.action.type === 'run'
          ? step.action.line
          : step.action.type === 'command'
            ? step.action.kind
            : '';
      return String(renderString(text, this.#scope(step.vars), { lenient: true }));
    } catch {
      return step.action.type === 'command' ? step.action.kind : '';
    }
  }

  #backgroundFailure(): { exit: number; failure: Failure } | undefined {
    for (const bg of this.#bg.values()) {
      if (bg.ended && !bg.reported && bg.exit !== undefined && bg.exit !== 0) {
        bg.reported = true;
        return {
          exit: bg.exit,
          failure: {
            step: bg.id,
            message: `background step '${bg.id}' ended with exit ${bg.exit}`,
            details: bg.stderr.text.trim() ? [bg.stderr.text.trim().split('\n').slice(-3).join(' / ')] : [],
            at: this.#check.loc,
          },
        };
      }
    }
    return undefined;
  }

  async #stopBackground(): Promise<void> {
    for (const bg of this.#bg.values()) bg.stop.abort();
    await Promise.all([...this.#bg.values()].map((b) => b.done.catch(() => 0)));
  }

  // ---- one step ----

  async #runStep(step: StepDef, phase: Phase, signal: AbortSignal): Promise<Outcome> {
    const start = this.#elapsed;
    let o: Outcome;
    if (step.if !== undefined && !this.#holds(step.if, step.vars)) {
      this.#emit(step, phase, start, { ok: true, exit: 0, result: null, responded: false }, true);
      return { ok: true, exit: 0, result: null, responded: false };
    }
    try {
      if (step.action.type === 'await') o = await this.#await(step, step.action.id, signal);
      else if (step.background) o = await this.#startBackground(step, signal);
      else if (step.until !== undefined || step.every !== undefined || step.within !== undefined)
        o = await this.#poll(step, signal);
      else o = await this.#judged(step, signal);
    } catch (err) {
      const message =
        err instanceof TemplateError || err instanceof StepFailed
          ? err.message
          : `step failed: ${(err as Error).message}`;
      o = {
        ok: false,
        exit: err instanceof TemplateError ? ExitCode.usage : ExitCode.failed,
        result: null,
        responded: false,
        failure: { message, details: [] },
      };
    }
    if (step.id !== undefined && o.result !== undefined) this.#steps[step.id] = o.result;
    if (o.responded && step.compensate.length > 0 && phase === 'main') this.#armed.push(step);
    this.#emit(step, phase, start, o, false);
    return o;
  }

  #emit(step: StepDef, phase: Phase, start: number, o: Outcome, skipped: boolean): void {
    this.#count += 1;
    const e: StepEvent = {
      type: 'step',
      file: this.#file.name,
      check: this.#name,
      step: this.#stepName(step, o.command),
      phase,
      ms: Math.round(this.#elapsed - start),
      start: Math.round(start),
      ok: o.ok,
      exit: o.exit,
      ...(skipped ? { skipped: true } : {}),
      ...(step.background ? { background: true } : {}),
      ...(o.command ? { command: o.command } : {}),
      result: o.result,
      ...(o.ok ? {} : { failure: this.#failureOf(step, o) }),
    };
    this.#deps.onStep(this.redact(e));
  }

  #holds(cond: unknown, extra: Readonly<Loose> | undefined): boolean {
    if (cond !== null && typeof cond === 'object' && !Array.isArray(cond)) {
      const doc = { vars: { ...this.#vars, ...(extra ?? {}) }, env: this.#deps.env, steps: this.#steps };
      const rendered = render(cond, this.#scope(extra), { lenient: true }) as Loose;
      return judgeAll(doc, rendered).length === 0;
    }
    return truthy(
      typeof cond === 'string' ? renderString(cond, this.#scope(extra), { lenient: true }) : cond,
    );
  }

  /** Run a step once and judge it: exit code, captures (first), then expectations. */
  async #judged(step: StepDef, signal: AbortSignal): Promise<Outcome> {
    const r = await this.#execute(step, signal);
    return this.#judge(step, r);
  }

  #judge(step: StepDef, r: Outcome): Outcome {
    if (r.failure) return r;
    const expected = step.expectExit ??
      (step.action.type === 'exec' ? step.action.expectExit : undefined) ?? [0];
    if (!expected.includes(r.exit)) {
      const err = (r.result as Loose | null)?.error as Loose | undefined;
      const why = typeof err?.message === 'string' ? `: ${err.message}` : '';
      return {
        ...r,
        ok: false,
        exit: r.exit !== 0 ? r.exit : ExitCode.failed,
        failure: {
          message: `exit ${r.exit} (expected ${expected.join(' or ')})${why}`,
          details: this.#resultDetails(r.result),
        },
      };
    }
    const scope = this.#scope(step.vars);
    for (const [name, def] of Object.entries(step.capture ?? {})) {
      const found = evalPath(r.result, def.path);
      if (!found.found) {
        const keys =
          r.result && typeof r.result === 'object' ? Object.keys(r.result).join(', ') : typeof r.result;
        return {
          ...r,
          ok: false,
          exit: ExitCode.failed,
          failure: {
            message: `capture ${name}: ${def.path} matched nothing; the result has ${keys}`,
            details: [],
          },
        };
      }
      let value = found.value;
      if (def.regex !== undefined) {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        const m = new RegExp(def.regex).exec(text);
        if (!m)
          return {
            ...r,
            ok: false,
            exit: ExitCode.failed,
            failure: {
              message: `capture ${name}: /${def.regex}/ does not match ${show(value)}`,
              details: [],
            },
          };
        value = m[1] ?? m[0];
      }
      this.#vars[name] = value;
      if (SECRET_NAME.test(name) || this.#file.secrets.includes(name)) this.#addSecret(value);
    }
    if (step.expect) {
      const fails = judgeAll(r.result, render(step.expect, this.#scope(step.vars)) as Loose);
      if (fails.length > 0)
        return {
          ...r,
          ok: false,
          exit: ExitCode.failed,
          failure: { message: fails[0] as string, details: fails },
        };
    }
    void scope;
    return { ...r, ok: true, exit: r.exit === 0 ? 0 : 0 };
  }

  #resultDetails(result: unknown): string[] {
    if (!result || typeof result !== 'object') return [];
    const o = result as Loose;
    const d: string[] = [];
    if (o.status !== undefined) d.push(`status ${String(o.status)}`);
    const attempts = o.attempts;
    if (Array.isArray(attempts)) for (const a of attempts.slice(-3)) d.push(`attempt: ${JSON.stringify(a)}`);
    if (o.error) d.push(`error: ${JSON.stringify(o.error)}`);
    return d;
  }

  /** `until`/`every`/`within`: repeat until `until` holds (or, without it, until the step passes). */
  async #poll(step: StepDef, signal: AbortSignal): Promise<Outcome> {
    const within = step.within ?? this.#file.defaults.within ?? DEFAULT_WITHIN;
    const every = step.every ?? this.#file.defaults.every ?? DEFAULT_EVERY;
    const deadline = performance.now() + within;
    let tries = 0;
    let last: Outcome | undefined;
    const misses: string[] = [];
    for (;;) {
      tries += 1;
      const tryCtl = new AbortController();
      const left = deadline - performance.now();
      const timer = setTimeout(() => tryCtl.abort(), Math.max(0, left));
      const onAbort = () => tryCtl.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let r: Outcome;
      try {
        r = await this.#execute(step, tryCtl.signal);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
      if (signal.aborted) return { ...r, ok: false };
      const cutOff = tryCtl.signal.aborted;
      if (!cutOff) {
        if (r.exit === ExitCode.usage && !r.failure) return this.#judge(step, r);
        if (step.until) {
          const fails = judgeAll(r.result, render(step.until, this.#scope(step.vars)) as Loose);
          if (fails.length === 0) return this.#judge(step, r);
          misses.push(`try ${tries}: ${fails[0]}`);
        } else {
          const j = this.#judge(step, r);
          if (j.ok) return j;
          misses.push(`try ${tries}: ${j.failure?.message ?? `exit ${j.exit}`}`);
          r = j;
        }
        last = r;
      }
      if (performance.now() + every >= deadline || cutOff) {
        // A try cut off by `within` counts as a timeout, not as the interrupt its command saw.
        const base = cutOff && !last ? { ...r, exit: ExitCode.timeout } : (last ?? r);
        const j = step.until ? this.#judge(step, base) : base;
        const exit = j.ok || j.exit === 0 || j.exit === ExitCode.interrupted ? ExitCode.timeout : j.exit;
        return {
          ...base,
          ok: false,
          exit,
          failure: {
            message: `${step.until ? 'until never held' : 'never passed'} within ${formatMs(within)} (${tries} tr${tries === 1 ? 'y' : 'ies'})`,
            details: misses.slice(-3),
          },
        };
      }
      await sleep(every, signal);
      if (signal.aborted) return { ...(last ?? r), ok: false, exit: ExitCode.interrupted };
    }
  }

  // ---- execution ----

  #argvOf(step: StepDef): { argv: string[]; kind: StepKind | undefined } {
    const scope = this.#scope(step.vars);
    const traceparent = newTraceparent(this.traceId);
    const { action } = step;
    if (action.type === 'command') {
      const kind = this.#deps.kinds.get(action.kind) as StepKind;
      const value = render(action.value, scope) as Loose;
      const defaults = {
        ...this.#file.defaults,
        options: render(this.#file.defaults.options, scope) as Loose,
        scoped: render(this.#file.defaults.scoped, scope) as Record<string, Loose>,
      };
      const extra = ['--json', ...(kind.accepts.has('show-secrets') ? ['--show-secrets'] : [])];
      const argv = commandArgv(kind, value, defaults, {
        dir: step.dir,
        background: step.background,
        traceparent,
        extra,
      });
      return { argv, kind };
    }
    if (action.type === 'run') {
      const words = splitWords(action.line).map((w) => {
        const v = renderString(w, scope);
        return typeof v === 'string' ? v : JSON.stringify(v);
      });
      const kind = findKind(this.#deps.kinds, words);
      const extra = ['--json'];
      if (kind) extra.push(...this.#defaultArgs(kind, words, scope, step.background));
      if (kind?.accepts.has('show-secrets')) extra.push('--show-secrets');
      if (kind?.options.has('traceparent') && !words.includes('--traceparent'))
        extra.push('--traceparent', traceparent);
      const dash = words.indexOf('--');
      const argv =
        dash >= 0 ? [...words.slice(0, dash), ...extra, ...words.slice(dash)] : [...words, ...extra];
      return { argv, kind };
    }
    return { argv: [], kind: undefined };
  }

  /** The file's defaults a `run:` line can take and does not set itself. */
  #defaultArgs(kind: StepKind, words: readonly string[], scope: Scope, background: boolean): string[] {
    const defaults = {
      ...this.#file.defaults,
      options: render(this.#file.defaults.options, scope) as Loose,
      scoped: render(this.#file.defaults.scoped, scope) as Record<string, Loose>,
    };
    const args = commandArgv(kind, {}, defaults, { dir: '.', background }).slice(kind.words.length);
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const name = (args[i] as string).replace(/^--/, '');
      const o = kind.options.get(name);
      const pair = o && !o.boolean ? [args[i] as string, args[++i] as string] : [args[i] as string];
      if (!words.includes(`--${name}`) && !(o?.repeatable ?? false)) out.push(...pair);
    }
    return out;
  }

  async #execute(step: StepDef, signal: AbortSignal): Promise<Outcome> {
    if (step.action.type === 'exec') return this.#exec(step, signal);
    const { argv, kind } = this.#argvOf(step);
    const command = this.#display(
      argv.filter((w) => w !== '--json' && w !== '--show-secrets'),
      kind,
    );
    const out = new LineCollector();
    const err = new LineCollector();
    const exit = await this.#deps.ctx.run(argv, {
      stdout: out.asStream(),
      stderr: err.asStream(),
      signal,
      breakers: this.#breakers,
    });
    out.flushPartial();
    const objects = out.objects;
    const last = objects.at(-1);
    const result =
      last !== undefined && last !== null && typeof last === 'object' && !Array.isArray(last)
        ? objects.length > 1
          ? { ...(last as Loose), items: objects.slice(0, -1) }
          : last
        : { ok: exit === 0, exit, items: objects };
    // The command got a response (even a failing one): a compensation for it is armed.
    const responded =
      exit === ExitCode.ok || exit === ExitCode.failed || (step.expectExit?.includes(exit) ?? false);
    const outcome: Outcome = { ok: exit === 0, exit, result, responded, command };
    if (exit === ExitCode.usage && !(step.expectExit ?? []).includes(2))
      outcome.failure = {
        // The command's own line reads `error: ...`: one prefix is enough.
        message: `usage error: ${(err.text.trim().split('\n')[0] ?? '').replace(/^error:\s*/, '')}`,
        details: err.text.trim().split('\n').slice(1, 3),
      };
    return outcome;
  }

  async #exec(step: StepDef, signal: AbortSignal): Promise<Outcome> {
    const action = step.action as Extract<StepDef['action'], { type: 'exec' }>;
    const scope = this.#scope(step.vars);
    const cmd = render(action.command, scope) as string | string[];
    const env = render(action.env, scope) as Loose;
    let argv: string[];
    if (action.shell) argv = ['/bin/sh', '-c', Array.isArray(cmd) ? cmd.join(' ') : cmd];
    else argv = Array.isArray(cmd) ? cmd.map(String) : splitWords(cmd);
    const command = this.redact(argv.map(quoteWord).join(' '));
    const [program, ...args] = argv;
    if (!program)
      return {
        ok: false,
        exit: ExitCode.usage,
        result: null,
        responded: false,
        command,
        failure: { message: 'exec: empty command', details: [] },
      };
    return new Promise((resolve) => {
      const child = spawn(program, args, {
        cwd: step.dir,
        env: {
          ...process.env,
          ...Object.fromEntries(
            Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
          ),
          TRACEPARENT: newTraceparent(this.traceId),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const group = child.pid;
      if (group !== undefined) trackExecGroup(group);
      child.once('close', () => {
        if (group !== undefined) execGroups.delete(group);
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const kill = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
        } catch {
          // gone
        }
      };
      signal.addEventListener('abort', kill, { once: true });
      let settled = false;
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', kill);
        const message =
          e.code === 'ENOENT'
            ? `exec: program '${program}' not found`
            : `exec: cannot run '${program}': ${e.message}`;
        resolve({
          ok: false,
          exit: ExitCode.usage,
          result: null,
          responded: false,
          command,
          failure: { message, details: [] },
        });
      });
      child.on('close', (code, sig) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', kill);
        const exit = code ?? (sig ? 128 + 15 : 1);
        let data: unknown = null;
        try {
          data = stdout.trim() === '' ? null : JSON.parse(stdout);
        } catch {
          data = null;
        }
        resolve({ ok: exit === 0, exit, result: { exit, stdout, stderr, data }, responded: true, command });
      });
    });
  }

  // ---- background and await ----

  async #startBackground(step: StepDef, signal: AbortSignal): Promise<Outcome> {
    const id = step.id ?? `bg${this.#bg.size + 1}`;
    const { argv, kind } = this.#argvOf(step);
    const command = this.#display(
      argv.filter((w) => w !== '--json' && w !== '--show-secrets'),
      kind,
    );
    const stop = new AbortController();
    const waiters = new Set<() => void>();
    const notify = () => {
      for (const w of [...waiters]) w();
    };
    const kept: unknown[] = [];
    const out = new LineCollector((o) => {
      kept.push(o);
      notify();
    });
    const err = new LineCollector();
    let isReady = false;
    let ready!: () => void;
    const readyP = new Promise<void>((r) => {
      ready = () => {
        isReady = true;
        r();
      };
    });
    const done = this.#deps.ctx.run(argv, {
      stdout: out.asStream(),
      stderr: err.asStream(),
      signal: stop.signal,
      ready,
      breakers: this.#breakers,
    });
    const bg: Background = {
      id,
      kept,
      ended: false,
      exit: undefined,
      reported: false,
      stop,
      done,
      waiters,
      stderr: err,
    };
    void done.then((code) => {
      out.flushPartial();
      bg.ended = true;
      // Stopped by the runner after finally: not a failure.
      bg.exit = stop.signal.aborted ? 0 : code;
      notify();
    });
    this.#bg.set(id, bg);
    const signals = kind !== undefined && SIGNALS_READY.has(kind.path);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await Promise.race([
      readyP,
      done,
      new Promise<void>((r) => {
        onAbort = () => r();
        signal.addEventListener('abort', onAbort, { once: true });
        timer = setTimeout(r, signals ? READY_TIMEOUT_MS : READY_FALLBACK_MS);
        // Without a ready signal, the first object shows the command is live.
        if (!signals) waiters.add(() => r());
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (signal.aborted && !isReady && !bg.ended)
      return { ok: false, exit: ExitCode.interrupted, result: null, responded: false, command };
    if (signals && !isReady && !bg.ended)
      return {
        ok: false,
        exit: ExitCode.timeout,
        result: { ok: false, exit: ExitCode.timeout, items: kept },
        responded: false,
        command,
        failure: {
          message: `background command was not ready (listening) within ${formatMs(READY_TIMEOUT_MS)}`,
          details: err.text
            .trim()
            .split('\n')
            .slice(-2)
            .filter((l) => l !== ''),
        },
      };
    if (bg.ended && bg.exit !== 0) {
      bg.reported = true;
      return {
        ok: false,
        exit: bg.exit ?? 1,
        result: { ok: false, exit: bg.exit, items: kept },
        responded: false,
        command,
        failure: {
          message: `background command ended with exit ${bg.exit}`,
          details: err.text.trim().split('\n').slice(-2),
        },
      };
    }
    return {
      ok: true,
      exit: 0,
      result: { background: true, ready: isReady ? true : 'assumed' },
      responded: true,
      command,
    };
  }

  async #await(step: StepDef, id: string, signal: AbortSignal): Promise<Outcome> {
    const bg = this.#bg.get(id);
    if (!bg) throw new StepFailed(`await: step '${id}' did not start in the background (skipped?)`);
    const expect = step.expect ? (render(step.expect, this.#scope(step.vars)) as Loose) : undefined;
    const matches = (o: unknown) => (expect ? judgeAll(o, expect).length === 0 : true);
    const command = `await ${id}`;
    const waitChange = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          bg.waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, Math.max(0, ms));
        bg.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    if (step.noneWithin !== undefined) {
      const deadline = performance.now() + step.noneWithin;
      for (;;) {
        const hit = bg.kept.find(matches);
        if (hit !== undefined)
          return {
            ok: false,
            exit: ExitCode.failed,
            result: hit,
            responded: false,
            command,
            failure: {
              message: `an object arrived that should not have within ${formatMs(step.noneWithin)}`,
              details: [show(hit)],
            },
          };
        const left = deadline - performance.now();
        if (left <= 0 || bg.ended || signal.aborted) break;
        await waitChange(left);
      }
      if (signal.aborted)
        return { ok: false, exit: ExitCode.interrupted, result: null, responded: false, command };
      return { ok: true, exit: 0, result: null, responded: false, command };
    }
    const count = step.count ?? 1;
    const within = step.within ?? this.#file.defaults.within ?? DEFAULT_WITHIN;
    const deadline = performance.now() + within;
    const taken: unknown[] = [];
    for (;;) {
      for (let i = 0; i < bg.kept.length && taken.length < count; ) {
        if (matches(bg.kept[i])) taken.push(bg.kept.splice(i, 1)[0]);
        else i++;
      }
      if (taken.length >= count) break;
      const left = deadline - performance.now();
      if (left <= 0 || bg.ended || signal.aborted) {
        if (signal.aborted)
          return { ok: false, exit: ExitCode.interrupted, result: null, responded: false, command };
        const miss = this.#closestMiss(bg.kept, expect);
        return {
          ok: false,
          exit: ExitCode.timeout,
          result: taken.at(-1) ?? null,
          responded: false,
          command,
          failure: {
            message: `${taken.length} of ${count} matching object${count === 1 ? '' : 's'} ${bg.ended ? `before '${id}' ended` : `within ${formatMs(within)}`}`,
            details: miss,
          },
        };
      }
      await waitChange(left);
    }
    // `capture` and `expect` were the filter; capture reads the last one taken.
    const result = taken.at(-1);
    const judged = this.#judge({ ...step, expect: undefined } as StepDef, {
      ok: true,
      exit: 0,
      result,
      responded: false,
      command,
    });
    return judged.ok && count > 1
      ? { ...judged, result: { ...(result as Loose), items: taken.slice(0, -1) } }
      : judged;
  }

  #closestMiss(kept: readonly unknown[], expect: Loose | undefined): string[] {
    if (!expect || kept.length === 0) return kept.length === 0 ? ['nothing arrived'] : [];
    let best: string[] | undefined;
    for (const o of kept) {
      const f = judgeAll(o, expect);
      if (!best || f.length < best.length) best = f;
    }
    return [`closest miss (of ${kept.length} kept): ${(best ?? []).join('; ')}`];
  }
}

/** The name of one row of `each`: `NAME [k=v, ...]`. */
export function rowName(name: string, row: Readonly<Loose> | undefined): string {
  if (!row) return name;
  return `${name} [${Object.entries(row)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ')}]`;
}

export { judge, toRegex };
