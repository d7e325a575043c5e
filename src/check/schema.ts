import type { StepKind, StepOption } from './catalogue.js';
import { MATCHER_OPS, TYPE_NAMES } from './match.js';

/**
 * The one description of a check file: the fixed keys below (with their shapes and help) plus the
 * step kinds read off the command tree. The validator (load.ts) dispatches on these shapes, and
 * `jsonSchema()` turns the same tables into schema/check.schema.json, so the two cannot drift.
 */
export type Shape =
  | 'string'
  | 'boolean'
  | 'integer'
  | 'duration'
  | 'strings'
  | 'vars'
  | 'expect'
  | 'capture'
  | 'exit-codes'
  | 'condition'
  | 'steps'
  | 'step-or-steps'
  | 'each'
  | 'defaults'
  | 'exec'
  | 'checks';

export interface KeySpec {
  readonly shape: Shape;
  readonly help: string;
}

export const FILE_KEYS: Readonly<Record<string, KeySpec>> = {
  name: { shape: 'string', help: 'shown in output and reports; default: the file name' },
  vars: { shape: 'vars', help: 'variables for every check of the file (lowest precedence)' },
  secrets: { shape: 'strings', help: 'var names whose values print as [REDACTED]' },
  defaults: { shape: 'defaults', help: 'options for every step whose command takes them' },
  checks: { shape: 'checks', help: 'the checks of the file' },
  steps: { shape: 'steps', help: 'a fragment: steps for `include:`, never run on its own' },
};

export const CHECK_KEYS: Readonly<Record<string, KeySpec>> = {
  name: { shape: 'string', help: 'the check name (unique in the file)' },
  steps: { shape: 'steps', help: 'the steps, in order' },
  finally: { shape: 'steps', help: 'clean-up steps: always run, last' },
  vars: { shape: 'vars', help: "the check's variables (over the file's vars)" },
  tags: { shape: 'strings', help: 'for --tag T / --tag !T' },
  skip: { shape: 'string', help: 'skip the check, giving the reason' },
  if: { shape: 'condition', help: 'run the check only when this holds' },
  'max-time': { shape: 'duration', help: 'a cap for the whole check (exit 4)' },
  each: { shape: 'each', help: 'run once per row: a list of var maps, or a CSV/YAML file' },
};

export const STEP_KEYS: Readonly<Record<string, KeySpec>> = {
  name: { shape: 'string', help: 'shown in output and reports; default: the command line' },
  id: { shape: 'string', help: 'names the step for await and {{steps.ID.PATH}}' },
  capture: { shape: 'capture', help: '{var: PATH} or {var: {path, regex}} over the result' },
  expect: { shape: 'expect', help: '{PATH: matcher} over the result' },
  'expect-exit': { shape: 'exit-codes', help: 'the exit code(s) the command must end with (default 0)' },
  until: { shape: 'expect', help: 'repeat the step until this holds' },
  every: { shape: 'duration', help: 'wait between tries (default 1s)' },
  within: { shape: 'duration', help: 'give up after this long (default 30s)' },
  background: { shape: 'boolean', help: 'start the command and go on once it is ready' },
  await: { shape: 'string', help: 'the id of a background step to take objects from' },
  count: { shape: 'integer', help: 'with await: how many objects to take (default 1)' },
  'none-within': { shape: 'duration', help: 'with await: fail if a matching object arrives within this' },
  compensate: { shape: 'step-or-steps', help: 'a step (or steps) that undoes this one' },
  if: { shape: 'condition', help: 'run the step only when this holds' },
  run: { shape: 'string', help: 'a comms-cli command line (split as a shell splits words)' },
  exec: { shape: 'exec', help: 'run a program: {command, shell, env, expect-exit}' },
  include: { shape: 'string', help: "a fragment file's steps, run in place" },
  vars: { shape: 'vars', help: 'with include: vars for the fragment' },
};

export const EXEC_KEYS: Readonly<Record<string, KeySpec>> = {
  command: { shape: 'string', help: 'the program and its arguments (split like a shell) or a list' },
  shell: { shape: 'boolean', help: 'run through sh -c' },
  env: { shape: 'vars', help: 'extra environment variables' },
  'expect-exit': { shape: 'exit-codes', help: 'the exit code(s) the program must end with (default 0)' },
};

/** Step keys that are actions (exactly one per step, or a command key). */
export const ACTION_KEYS = ['run', 'exec', 'await', 'include'] as const;

// ---- JSON Schema (draft 2020-12) ----

type Json = Record<string, unknown>;

const TEMPLATE_TEXT: Json = { type: 'string', pattern: '\\{\\{' };
const DURATION: Json = {
  anyOf: [
    {
      type: 'string',
      pattern: '^\\s*(\\d+(\\.\\d+)?\\s*(us|ms|s|m|h)?|(\\d+(\\.\\d+)?(us|ms|s|m|h))+)\\s*$',
    },
    { type: 'number', minimum: 0 },
  ],
};
const MATCHER: Json = {
  anyOf: [
    { type: ['string', 'number', 'boolean', 'null', 'array'] },
    {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        MATCHER_OPS.map((op) => [
          op,
          op === 'exists'
            ? { type: 'boolean' }
            : op === 'type'
              ? { enum: [...TYPE_NAMES] }
              : op === 'length'
                ? { $ref: '#/$defs/matcher' }
                : {},
        ]),
      ),
    },
  ],
};

function shapeSchema(shape: Shape): Json {
  switch (shape) {
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
      return { anyOf: [{ type: 'integer', minimum: 0 }, TEMPLATE_TEXT] };
    case 'duration':
      return DURATION;
    case 'strings':
      return { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
    case 'vars':
      return { type: 'object', propertyNames: { pattern: '^[A-Za-z_][\\w-]*$' } };
    case 'expect':
      return {
        type: 'object',
        propertyNames: { pattern: '^\\$' },
        additionalProperties: { $ref: '#/$defs/matcher' },
      };
    case 'capture':
      return {
        type: 'object',
        additionalProperties: {
          anyOf: [
            { type: 'string', pattern: '^\\$' },
            {
              type: 'object',
              required: ['path'],
              additionalProperties: false,
              properties: { path: { type: 'string', pattern: '^\\$' }, regex: { type: 'string' } },
            },
          ],
        },
      };
    case 'exit-codes':
      return {
        anyOf: [
          { type: 'integer', minimum: 0, maximum: 255 },
          { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 } },
        ],
      };
    case 'condition':
      return { anyOf: [{ type: ['string', 'boolean', 'number', 'null'] }, { $ref: '#/$defs/expect' }] };
    case 'steps':
      return { type: 'array', items: { $ref: '#/$defs/step' } };
    case 'step-or-steps':
      return { anyOf: [{ $ref: '#/$defs/step' }, { type: 'array', items: { $ref: '#/$defs/step' } }] };
    case 'each':
      return { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] };
    case 'defaults':
      return { $ref: '#/$defs/defaults' };
    case 'exec':
      return {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            required: ['command'],
            additionalProperties: false,
            properties: keysSchema(EXEC_KEYS, {
              command: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            }),
          },
        ],
      };
    case 'checks':
      return { type: 'array', items: { $ref: '#/$defs/check' } };
  }
}

function keysSchema(keys: Readonly<Record<string, KeySpec>>, override: Json = {}): Json {
  const out: Json = {};
  for (const [k, spec] of Object.entries(keys))
    out[k] = { description: spec.help, ...((override[k] as Json | undefined) ?? shapeSchema(spec.shape)) };
  return out;
}

/** One option of a step as JSON Schema: the value as written in YAML. */
export function optionSchema(o: StepOption, isData: boolean): Json {
  const base: Json = { description: o.help };
  if (o.boolean) return { ...base, type: 'boolean' };
  const scalar: Json =
    o.choices && o.choices.length > 0
      ? { anyOf: [{ enum: [...o.choices] }, TEMPLATE_TEXT] }
      : o.kind === 'integer'
        ? { anyOf: [{ type: 'integer' }, { type: 'string' }] }
        : o.kind === 'number'
          ? { anyOf: [{ type: 'number' }, { type: 'string' }] }
          : o.kind === 'duration'
            ? { anyOf: [DURATION, TEMPLATE_TEXT] }
            : { type: ['string', 'number', 'boolean'] };
  if (isData) return { ...base, anyOf: [scalar, { type: 'object' }, { type: 'array' }] };
  if (o.repeatable) {
    const forms: Json[] = [scalar, { type: 'array', items: scalar }];
    if (o.mapSyntax)
      forms.push({ type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } });
    return { ...base, anyOf: forms };
  }
  return { ...base, ...scalar };
}

/** Options whose map or list value is sent as JSON. */
export function isDataOption(kind: string, name: string): boolean {
  return (
    name === 'data' || name === 'payload' || name === 'json-data' || (kind === 'http' && name === 'payload')
  );
}

function stepKindSchema(kind: StepKind): Json {
  const properties: Json = {};
  for (const p of kind.positionals)
    properties[p.name] = isDataOption(kind.path, p.name)
      ? {
          description: p.help,
          anyOf: [{ type: ['string', 'number', 'boolean'] }, { type: 'object' }, { type: 'array' }],
        }
      : { description: p.help, type: ['string', 'number'] };
  if (kind.path === 'http')
    properties.payload = {
      description: 'the same as data',
      anyOf: [{ type: 'string' }, { type: 'object' }, { type: 'array' }],
    };
  for (const o of kind.options.values())
    properties[o.name] ??= optionSchema(o, isDataOption(kind.path, o.name));
  return {
    description: kind.help,
    type: 'object',
    additionalProperties: false,
    required: kind.positionals.filter((p) => p.required).map((p) => p.name),
    properties,
  };
}

/** The JSON Schema of check files, for editors (yaml-language-server) and CI. */
export function jsonSchema(kinds: ReadonlyMap<string, StepKind>): Json {
  const stepProps: Json = { ...keysSchema(STEP_KEYS) };
  const defaultsProps: Json = {
    within: { description: 'default `within` for polling steps and awaits', ...DURATION },
    every: { description: 'default `every` for polling steps', ...DURATION },
  };
  const groups = new Set<string>();
  const allOptions = new Map<string, StepOption>();
  for (const kind of [...kinds.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    stepProps[kind.path] = stepKindSchema(kind);
    for (let i = 1; i < kind.words.length; i++) groups.add(kind.words.slice(0, i).join('.'));
    for (const o of kind.options.values()) if (!allOptions.has(o.name)) allOptions.set(o.name, o);
  }
  for (const [name, o] of [...allOptions].sort(([a], [b]) => a.localeCompare(b)))
    defaultsProps[name] = optionSchema(o, false);
  for (const g of [...groups, ...kinds.keys()].sort())
    defaultsProps[g] = { description: `options for the ${g} command(s) only`, type: 'object' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://comms-cli.dev/schema/check.schema.json',
    title: 'comms-cli check file',
    description: 'A comms-cli check file (generated from the command option tables; do not edit).',
    type: 'object',
    additionalProperties: false,
    properties: keysSchema(FILE_KEYS),
    $defs: {
      matcher: MATCHER,
      expect: shapeSchema('expect'),
      check: {
        type: 'object',
        required: ['name', 'steps'],
        additionalProperties: false,
        properties: keysSchema(CHECK_KEYS),
      },
      step: { type: 'object', additionalProperties: false, minProperties: 1, properties: stepProps },
      defaults: { type: 'object', additionalProperties: false, properties: defaultsProps },
    },
  };
}
