/** What a check file becomes once parsed and validated (includes expanded). */

export type StepAction =
  | { readonly type: 'command'; readonly kind: string; readonly value: Readonly<Record<string, unknown>> }
  | { readonly type: 'run'; readonly line: string }
  | {
      readonly type: 'exec';
      readonly command: string | readonly string[];
      readonly shell: boolean;
      readonly env: Readonly<Record<string, unknown>>;
      readonly expectExit?: readonly number[];
    }
  | { readonly type: 'await'; readonly id: string };

export interface CaptureDef {
  readonly path: string;
  readonly regex?: string;
}

export interface StepDef {
  /** FILE:LINE:COL of the step, for messages. */
  readonly loc: string;
  /** The file holding the step (a fragment's steps keep their own file): paths are relative to it. */
  readonly file: string;
  readonly dir: string;
  readonly action: StepAction;
  readonly name?: string;
  readonly id?: string;
  readonly capture?: Readonly<Record<string, CaptureDef>>;
  readonly expect?: Readonly<Record<string, unknown>>;
  readonly expectExit?: readonly number[];
  readonly until?: Readonly<Record<string, unknown>>;
  readonly every?: number;
  readonly within?: number;
  readonly background: boolean;
  readonly count?: number;
  readonly noneWithin?: number;
  readonly compensate: readonly StepDef[];
  readonly if?: unknown;
  /** Vars an `include:` passed to its fragment. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface CheckDef {
  readonly name: string;
  readonly loc: string;
  readonly tags: readonly string[];
  readonly skip?: string;
  readonly if?: unknown;
  readonly maxTime?: number;
  /** One run per row (already read from a CSV/YAML file when `each:` named one). */
  readonly each?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly steps: readonly StepDef[];
  readonly finally: readonly StepDef[];
}

export interface Defaults {
  /** Options for every step whose command takes them. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Options for one command or group (`nats`, `grpc.call`). */
  readonly scoped: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly within?: number;
  readonly every?: number;
}

export interface FileDef {
  readonly path: string;
  /** How output names the file: its `name:` or its file name. */
  readonly name: string;
  readonly dir: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly secrets: readonly string[];
  readonly defaults: Defaults;
  readonly checks: readonly CheckDef[];
}

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
