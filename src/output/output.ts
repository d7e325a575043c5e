import type { ChalkInstance } from 'chalk';
import { formatMs } from '../core/duration.js';
import { stringifyExact } from '../core/exact-json.js';
import type { CommsError } from '../errors/comms-error.js';
import { colourFor } from './colour.js';
import { escapeControl, escapeLine } from './escape.js';
import { redactDeep } from './redact.js';

export interface OutputOptions {
  /** One JSON object per line on stdout. */
  json: boolean;
  /** Only errors on stderr. */
  quiet: boolean;
  /** Headers/metadata, every attempt, full timing. */
  verbose: boolean;
  /** `--no-color` sets false; undefined = decide from env and TTY. */
  color?: boolean;
  showSecrets: boolean;
  debug: boolean;
}

/** The part of an ora spinner Output needs (kept structural so ora loads only on a TTY). */
export interface SpinnerLike {
  clear(): unknown;
  render(): unknown;
}

/** The error code of the interruption when the stdout reader went away (`| head -1`): not reported. */
export const STDOUT_CLOSED = 'COMMS_ERR_STDOUT_CLOSED';

export const DEFAULT_OUTPUT: OutputOptions = {
  json: false,
  quiet: false,
  verbose: false,
  showSecrets: false,
  debug: false,
};

/**
 * The two streams of the contract. stdout carries data only (bodies, messages, NDJSON) and is written
 * with backpressure; stderr carries everything a person reads. Nothing else in comms-cli writes to
 * process.stdout/stderr directly.
 */
export class Output {
  readonly options: OutputOptions;
  readonly out: NodeJS.WriteStream;
  readonly err: NodeJS.WriteStream;
  /** Colours for stderr text. */
  readonly c: ChalkInstance;
  /** Colours for stdout data (only when stdout is a TTY). */
  readonly cOut: ChalkInstance;
  #spinner: SpinnerLike | undefined;

  constructor(
    options: OutputOptions,
    out: NodeJS.WriteStream = process.stdout,
    err: NodeJS.WriteStream = process.stderr,
  ) {
    this.options = options;
    this.out = out;
    this.err = err;
    this.c = colourFor(err, options.color);
    this.cOut = colourFor(out, options.color);
  }

  get stdoutIsTTY(): boolean {
    return this.out.isTTY === true;
  }

  get stderrIsTTY(): boolean {
    return this.err.isTTY === true;
  }

  /** Write data to stdout, waiting for the pipe to drain when it is full. */
  async data(chunk: string | Uint8Array): Promise<void> {
    if (!this.out.write(chunk)) await waitDrain(this.out);
  }

  /**
   * Write data to stdout and resolve only once the stream has handed it to the OS (the write
   * callback), not merely buffered it. For output that must not be acknowledged before it is out,
   * such as JetStream messages acked after printing: a crash after this point cannot lose it.
   */
  written(chunk: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Like `json`, but resolves once the line was handed to the OS (see `written`). */
  jsonWritten(value: unknown): Promise<void> {
    const safe = this.options.showSecrets ? value : redactDeep(value);
    return this.written(`${stringifyExact(safe)}\n`);
  }

  /** One NDJSON line on stdout; secrets redacted unless --show-secrets. */
  async json(value: unknown): Promise<void> {
    const safe = this.options.showSecrets ? value : redactDeep(value);
    await this.data(`${stringifyExact(safe)}\n`);
  }

  /** Redact a value for human display (headers in -v). */
  safe<T>(value: T): T {
    return this.options.showSecrets ? value : (redactDeep(value) as T);
  }

  /** A line for people (status, timing): hidden by -q, and by --json to keep logs terse. */
  info(line: string): void {
    if (this.options.quiet || this.options.json) return;
    this.#line(line);
  }

  /** A line shown only with -v (even with --json: it goes to stderr, never into the data). */
  verbose(line: string): void {
    if (!this.options.verbose || this.options.quiet) return;
    this.#line(line);
  }

  /** Progress a person watches: only when stderr is a TTY and not quiet. */
  progress(line: string): void {
    if (this.options.quiet || !this.stderrIsTTY) return;
    this.err.write(`\r\x1b[2K${escapeLine(line, this.c.level > 0)}`);
  }

  clearProgress(): void {
    if (this.options.quiet || !this.stderrIsTTY) return;
    this.err.write('\r\x1b[2K');
  }

  /** One or two lines: what failed and the value that caused it, then a hint. Always shown. */
  error(
    err: CommsError | { message: string; hint?: string | undefined; code?: string },
    stack?: string,
  ): void {
    if (err.code === STDOUT_CLOSED) return;
    // Messages quote peers (reason phrases, grpc-message, Location): escaped before colouring.
    this.#line(`${this.c.red('error:')} ${escapeControl(err.message)}`);
    if (err.hint) this.#line(`${this.c.dim('hint:')} ${escapeControl(err.hint)}`);
    if (this.options.debug && stack) this.#line(this.c.dim(stack));
  }

  /** While a spinner runs, stderr lines are written around it so the two never interleave. */
  attachSpinner(spinner: SpinnerLike | undefined): void {
    this.#spinner = spinner;
  }

  /** A line on stderr, always shown (the caller decides when: -i headers, say). Escaped like every line. */
  line(text: string): void {
    this.#line(text);
  }

  /**
   * Every line for people goes through here: control characters and escape sequences that came from
   * a peer are escaped (src/output/escape.ts); only comms-cli's own colour sequences are kept.
   */
  #line(text: string): void {
    const spinner = this.#spinner;
    spinner?.clear();
    this.err.write(`${escapeLine(text, this.c.level > 0)}\n`);
    spinner?.render();
  }

  ms(ms: number | undefined): string {
    return ms === undefined ? '-' : formatMs(ms);
  }
}

function waitDrain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}
