import protobuf, { type Field, type Type } from 'protobufjs';
import { jsonName } from './json-codec.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const NUMBERS = new Set(['int32', 'sint32', 'sfixed32', 'uint32', 'fixed32', 'float', 'double']);

/** Well-known types in their proto3 JSON forms, as a request would write them. */
const WELL_KNOWN: Record<string, Json> = {
  '.google.protobuf.Timestamp': '1970-01-01T00:00:00Z',
  '.google.protobuf.Duration': '0s',
  '.google.protobuf.FieldMask': '',
  '.google.protobuf.Struct': {},
  '.google.protobuf.Value': null,
  '.google.protobuf.ListValue': [],
  '.google.protobuf.Empty': {},
  '.google.protobuf.Any': { '@type': '' },
  '.google.protobuf.DoubleValue': 0,
  '.google.protobuf.FloatValue': 0,
  '.google.protobuf.Int64Value': '0',
  '.google.protobuf.UInt64Value': '0',
  '.google.protobuf.Int32Value': 0,
  '.google.protobuf.UInt32Value': 0,
  '.google.protobuf.BoolValue': false,
  '.google.protobuf.StringValue': '',
  '.google.protobuf.BytesValue': '',
};

/**
 * A JSON skeleton of `type` for `-d` (grpcurl's -msg-template): every field by its JSON name with a
 * zero value of the right shape, one element in repeated fields, one entry in maps, enums by their
 * first name, and only the first member of each oneof (a request may set one). A message that
 * contains itself stops at `{}` where it recurs.
 */
export function messageTemplate(type: Type, seen: ReadonlySet<string> = new Set()): Json {
  const known = WELL_KNOWN[type.fullName];
  if (known !== undefined) return known;
  if (seen.has(type.fullName)) return {};
  const inner = new Set([...seen, type.fullName]);
  const out: Record<string, Json> = {};
  const oneofsUsed = new Set<string>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const oneof = field.partOf;
    if (oneof && !oneof.name.startsWith('_')) {
      if (oneofsUsed.has(oneof.name)) continue;
      oneofsUsed.add(oneof.name);
    }
    const single = singleTemplate(field, inner);
    if (field.map) out[jsonName(field.name)] = { [mapKey(field)]: single };
    else out[jsonName(field.name)] = field.repeated ? [single] : single;
  }
  return out;
}

function mapKey(field: Field): string {
  const keyType = (field as unknown as { keyType: string }).keyType;
  if (keyType === 'bool') return 'false';
  if (keyType === 'string') return '';
  return '0';
}

function singleTemplate(field: Field, seen: ReadonlySet<string>): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return Object.keys(resolved.values)[0] ?? 0;
  if (resolved instanceof protobuf.Type) return messageTemplate(resolved, seen);
  if (INT64.has(field.type)) return '0';
  if (NUMBERS.has(field.type)) return 0;
  if (field.type === 'bool') return false;
  return ''; // string, and bytes (base64)
}
