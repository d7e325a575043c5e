import type { Enum, Field, MapField, Message, Type } from 'protobufjs';
import { UsageError } from '../../errors/comms-error.js';

/**
 * The proto3 JSON mapping in both directions, over protobufjs reflection types loaded with
 * `keepCase: true` (so field names are the .proto names and `describe` shows them as written).
 *
 * protobufjs' own `fromObject` is lenient: it ignores unknown fields and coerces wrong types. A CLI
 * must instead reject `{"sku1": ...}` with exit 2 before sending, so requests are checked here
 * field by field. Responses use `toObject` for the scalar conversions (int64 as strings, enums by
 * name, bytes as base64), then get JSON names and the well-known-type forms (Timestamp as RFC 3339,
 * Duration as "1.5s", wrappers as plain values, Struct as JSON).
 */

/** protoc's default json_name: `price_cents` → `priceCents`. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32', 'uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const FLOAT = new Set(['float', 'double']);
const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---------------------------------------------------------------- request: JSON → bytes

/**
 * Encode a JSON request for `type`. Unknown fields, wrong value types and bad enum names are usage
 * errors naming the JSON path, the message type and (for unknown fields) the fields it does have.
 */
export function encodeJson(type: Type, value: unknown, where = 'request'): Buffer {
  const plain = messageFromJson(type, value, where);
  const msg = type.fromObject(plain as Record<string, unknown>);
  return Buffer.from(type.encode(msg).finish());
}

function bad(path: string, what: string, hint?: string): UsageError {
  return new UsageError(`invalid ${path}: ${what}`, hint ? { hint } : {});
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function messageFromJson(type: Type, value: unknown, path: string): Record<string, unknown> {
  const wkt = wktFromJson(type, value, path);
  if (wkt !== undefined) return wkt;
  if (!isPlainObject(value))
    throw bad(path, `expected a JSON object for ${type.fullName.slice(1)}, got ${describeJson(value)}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = findField(type, key);
    if (!field) {
      const names = type.fieldsArray.map((f) => jsonName(f.name));
      throw new UsageError(`unknown field '${key}' in ${path} (message ${type.fullName.slice(1)})`, {
        hint: names.length ? `fields: ${names.join(', ')}` : `${type.fullName.slice(1)} has no fields`,
      });
    }
    // proto3 JSON: null means "the default", i.e. absent (except google.protobuf.Value, handled in its WKT).
    if (v === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
    out[field.name] = fieldFromJson(field, v, `${path}.${key}`);
  }
  return out;
}

function findField(type: Type, key: string): Field | undefined {
  return type.fields[key] ?? type.fieldsArray.find((f) => jsonName(f.name) === key);
}

function fieldFromJson(field: Field, v: unknown, path: string): unknown {
  if (field.map) {
    if (!isPlainObject(v)) throw bad(path, `expected a JSON object (map), got ${describeJson(v)}`);
    const keyType = (field as unknown as MapField).keyType;
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      if (keyType !== 'string') scalarFromJson(keyType, k, `${path}[${k}]`);
      out[k] = singleFromJson(field, item, `${path}.${k}`);
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(v))
      throw bad(path, `expected a JSON array (repeated ${field.type}), got ${describeJson(v)}`);
    return v.map((item, i) => singleFromJson(field, item, `${path}[${i}]`));
  }
  return singleFromJson(field, v, path);
}

function singleFromJson(field: Field, v: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return messageFromJson(resolved as Type, v, path);
  if (resolved) return enumFromJson(resolved as Enum, v, path);
  return scalarFromJson(field.type, v, path);
}

function enumFromJson(en: Enum, v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && en.values[v] !== undefined) return en.values[v] as number;
  throw bad(
    path,
    `${describeJson(v)} is not a value of enum ${en.name}`,
    `values: ${Object.keys(en.values).join(', ')}`,
  );
}

function scalarFromJson(type: string, v: unknown, path: string): unknown {
  if (type === 'string') {
    if (typeof v !== 'string') throw bad(path, `expected a string, got ${describeJson(v)}`);
    return v;
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') throw bad(path, `expected true or false, got ${describeJson(v)}`);
    return v;
  }
  if (type === 'bytes') {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v))
      throw bad(path, `expected base64 bytes, got ${describeJson(v)}`);
    return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  }
  if (INT32.has(type) || INT64.has(type)) {
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
    if (!/^-?\d+$/.test(text) && !(typeof v === 'number' && Number.isInteger(v))) {
      throw bad(path, `expected an integer (${type}), got ${describeJson(v)}`);
    }
    if (type.startsWith('u') || type.startsWith('fixed')) {
      if (text.startsWith('-'))
        throw bad(path, `expected a non-negative integer (${type}), got ${describeJson(v)}`);
    }
    if (INT32.has(type)) {
      const n = Number(text);
      const [min, max] =
        type.startsWith('u') || type === 'fixed32' ? [0, 4294967295] : [-2147483648, 2147483647];
      if (n < min || n > max) throw bad(path, `${text} is out of range for ${type}`);
      return n;
    }
    return text; // protobufjs parses int64 strings exactly (no float rounding)
  }
  if (FLOAT.has(type)) {
    if (typeof v === 'number') return v;
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    throw bad(path, `expected a number (${type}), got ${describeJson(v)}`);
  }
  throw bad(path, `unsupported field type ${type}`);
}

/** Well-known types whose JSON form is not an object of their fields. */
function wktFromJson(type: Type, v: unknown, path: string): Record<string, unknown> | undefined {
  const name = type.fullName;
  if (WRAPPERS.has(name)) {
    const field = type.fields.value;
    return field ? { value: scalarFromJson(field.type, v, path) } : {};
  }
  switch (name) {
    case '.google.protobuf.Timestamp': {
      if (typeof v !== 'string')
        throw bad(path, `expected an RFC 3339 timestamp string, got ${describeJson(v)}`);
      return timestampFromString(v, path);
    }
    case '.google.protobuf.Duration': {
      const m = typeof v === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
      if (!m) throw bad(path, `expected a duration like "1.5s", got ${describeJson(v)}`);
      const sign = m[1] ? -1 : 1;
      return { seconds: String(sign * Number(m[2])), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
    }
    case '.google.protobuf.FieldMask': {
      if (typeof v !== 'string')
        throw bad(path, `expected a comma-separated field mask string, got ${describeJson(v)}`);
      return {
        paths: v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
      };
    }
    case '.google.protobuf.Struct': {
      if (!isPlainObject(v)) throw bad(path, `expected a JSON object (Struct), got ${describeJson(v)}`);
      return structFromJson(v, type);
    }
    case '.google.protobuf.Value':
      return valueFromJson(v as Json, type);
    case '.google.protobuf.ListValue': {
      if (!Array.isArray(v)) throw bad(path, `expected a JSON array (ListValue), got ${describeJson(v)}`);
      const valueType = type.root.lookupType('google.protobuf.Value');
      return { values: v.map((x) => valueFromJson(x as Json, valueType)) };
    }
    case '.google.protobuf.Any': {
      if (!isPlainObject(v) || typeof v['@type'] !== 'string')
        throw bad(path, 'expected an object with "@type" (Any)');
      const typeUrl = v['@type'];
      const inner = lookupTypeUrl(type, typeUrl);
      if (!inner) throw bad(path, `unknown type '${typeUrl}' in Any (not in the loaded schema)`);
      const body = WKT_OBJECT_FORM.has(inner.fullName)
        ? (v as Record<string, unknown>).value
        : omit(v, '@type');
      return { type_url: typeUrl, value: encodeJson(inner, body, path) };
    }
    default:
      return undefined;
  }
}

const WKT_OBJECT_FORM = new Set([
  ...WRAPPERS,
  '.google.protobuf.Timestamp',
  '.google.protobuf.Duration',
  '.google.protobuf.FieldMask',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.Any',
]);

function omit(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _drop, ...rest } = o;
  return rest;
}

function lookupTypeUrl(anyType: Type, typeUrl: string): Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return anyType.root.lookupType(name);
  } catch {
    return undefined;
  }
}

function timestampFromString(v: string, path: string): Record<string, unknown> {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(v);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms))
    throw bad(path, `expected an RFC 3339 timestamp like "2024-01-31T12:00:00Z", got ${describeJson(v)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/**
 * Field names of the struct.proto types differ by source: `struct_value` from .proto files and
 * reflection, `structValue` in protobufjs' bundled copy. Use whichever this root has.
 */
function wktField(type: Type, snake: string): string {
  return type.fields[snake] ? snake : jsonName(snake);
}

function structFromJson(v: Record<string, unknown>, structType: Type): Record<string, unknown> {
  const valueType = structType.root.lookupType('google.protobuf.Value');
  const fields: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) fields[k] = valueFromJson(x as Json, valueType);
  return { fields };
}

function valueFromJson(v: Json, valueType: Type): Record<string, unknown> {
  const f = (snake: string) => wktField(valueType, snake);
  if (v === null) return { [f('null_value')]: 0 };
  if (typeof v === 'number') return { [f('number_value')]: v };
  if (typeof v === 'string') return { [f('string_value')]: v };
  if (typeof v === 'boolean') return { [f('bool_value')]: v };
  if (Array.isArray(v)) return { [f('list_value')]: { values: v.map((x) => valueFromJson(x, valueType)) } };
  return { [f('struct_value')]: structFromJson(v, valueType.root.lookupType('google.protobuf.Struct')) };
}

function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

// ---------------------------------------------------------------- response: bytes → JSON

export interface ToJsonOptions {
  /** --emit-defaults: include zero values (proto3 omits them). */
  emitDefaults?: boolean;
}

/** Decode a message and render it in the proto3 JSON mapping. */
export function decodeToJson(type: Type, bytes: Uint8Array, options: ToJsonOptions = {}): Json {
  return messageToJson(type, type.decode(bytes), options);
}

/** Render a decoded message in the proto3 JSON mapping. */
export function messageToJson(
  type: Type,
  message: Message | Record<string, unknown>,
  options: ToJsonOptions = {},
): Json {
  const emit = options.emitDefaults === true;
  const obj = type.toObject(message as Message, {
    longs: String,
    enums: String,
    bytes: String,
    defaults: emit,
    arrays: emit,
    objects: emit,
    json: true,
  });
  return objectToJson(type, obj, emit);
}

function objectToJson(type: Type, obj: Record<string, unknown>, emit: boolean): Json {
  const wkt = wktToJson(type, obj, emit);
  if (wkt !== undefined) return wkt;
  const out: Record<string, Json> = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    // Message fields are absent unless set, even with --emit-defaults (proto3: null).
    if (v === null) {
      if (emit) out[jsonName(field.name)] = null;
      continue;
    }
    // Senders may put explicit zeros on the wire; proto3 JSON still omits them (no presence).
    if (!emit && !hasPresence(field) && isDefault(field, v)) continue;
    out[jsonName(field.name)] = fieldToJson(field, v, emit);
  }
  return out;
}

function hasPresence(field: Field): boolean {
  // proto2 `optional` (and editions' EXPLICIT presence): a set zero is printed. protobufjs knows once
  // the field's features are resolved; unresolved ones fall back to the proto3 rules below.
  const resolved = field as unknown as { _features?: { field_presence?: string }; hasPresence?: boolean };
  if (!field.repeated && !field.map && resolved._features?.field_presence === 'EXPLICIT') return true;
  return (
    Boolean(field.partOf) ||
    Boolean(field.options?.proto3_optional) ||
    (field.resolvedType !== null && 'fieldsArray' in field.resolvedType)
  );
}

function isDefault(field: Field, v: unknown): boolean {
  if (field.map) return Object.keys(v as object).length === 0;
  if (field.repeated) return (v as unknown[]).length === 0;
  const resolved = field.resolvedType;
  if (resolved && !('fieldsArray' in resolved)) return v === (resolved as Enum).valuesById[0] || v === 0;
  return v === 0 || v === '0' || v === false || v === '';
}

function fieldToJson(field: Field, v: unknown, emit: boolean): Json {
  if (field.map) {
    const out: Record<string, Json> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>))
      out[k] = singleToJson(field, item, emit);
    return out;
  }
  if (field.repeated) return (v as unknown[]).map((item) => singleToJson(field, item, emit));
  return singleToJson(field, v, emit);
}

function singleToJson(field: Field, v: unknown, emit: boolean): Json {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved)
    return objectToJson(resolved as Type, v as Record<string, unknown>, emit);
  return v as Json;
}

function wktToJson(type: Type, obj: Record<string, unknown>, emit: boolean): Json | undefined {
  const name = type.fullName;
  if (WRAPPERS.has(name)) {
    const field = type.fields.value;
    return (obj.value as Json | undefined) ?? (field ? (defaultScalar(field.type) as Json) : null);
  }
  switch (name) {
    case '.google.protobuf.Timestamp': {
      const seconds = Number(obj.seconds ?? 0);
      const nanos = Number(obj.nanos ?? 0);
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
      return `${iso}${
        nanos
          ? `.${String(nanos)
              .padStart(9, '0')
              .replace(/(\d{3})(0{3}){1,2}$/, '$1')}`
          : ''
      }Z`;
    }
    case '.google.protobuf.Duration': {
      const seconds = BigInt(String(obj.seconds ?? '0'));
      const nanos = Number(obj.nanos ?? 0);
      const neg = seconds < 0n || nanos < 0;
      const abs = seconds < 0n ? -seconds : seconds;
      const frac = nanos
        ? `.${String(Math.abs(nanos))
            .padStart(9, '0')
            .replace(/(\d{3})(0{3}){1,2}$/, '$1')}`
        : '';
      return `${neg ? '-' : ''}${abs}${frac}s`;
    }
    case '.google.protobuf.FieldMask':
      return ((obj.paths as string[] | undefined) ?? []).map(jsonName).join(',');
    case '.google.protobuf.Struct':
      return structToJson(obj);
    case '.google.protobuf.Value':
      return valueToJson(obj);
    case '.google.protobuf.ListValue':
      return ((obj.values as Record<string, unknown>[] | undefined) ?? []).map(valueToJson);
    case '.google.protobuf.Empty':
      return {};
    case '.google.protobuf.Any': {
      // protobufjs' Any wrapper already unpacked known types into {"@type", ...fields}.
      const typeUrl = obj['@type'];
      if (typeof typeUrl !== 'string')
        return { typeUrl: (obj.type_url as string) ?? '', value: (obj.value as string) ?? '' };
      const inner = lookupTypeUrl(type, typeUrl);
      if (!inner) return obj as Json;
      const body = objectToJson(inner, omit(obj, '@type'), emit);
      return WKT_OBJECT_FORM.has(inner.fullName)
        ? { '@type': typeUrl, value: body }
        : { '@type': typeUrl, ...(body as Record<string, Json>) };
    }
    default:
      return undefined;
  }
}

function structToJson(obj: Record<string, unknown>): Json {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(
    (obj.fields as Record<string, Record<string, unknown>> | undefined) ?? {},
  ))
    out[k] = valueToJson(v);
  return out;
}

/** A decoded google.protobuf.Value (either naming of its fields) as plain JSON. */
function valueToJson(v: Record<string, unknown>): Json {
  const get = (snake: string) => v[snake] ?? v[jsonName(snake)];
  if (get('number_value') !== undefined) return get('number_value') as number;
  if (get('string_value') !== undefined) return get('string_value') as string;
  if (get('bool_value') !== undefined) return get('bool_value') as boolean;
  if (get('struct_value') !== undefined) return structToJson(get('struct_value') as Record<string, unknown>);
  const list = get('list_value') as { values?: Record<string, unknown>[] } | undefined;
  if (list !== undefined) return (list.values ?? []).map(valueToJson);
  return null;
}

function defaultScalar(type: string): unknown {
  if (type === 'bool') return false;
  if (type === 'string' || type === 'bytes') return '';
  if (INT64.has(type)) return '0';
  return 0;
}
