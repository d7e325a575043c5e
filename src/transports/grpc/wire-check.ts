import { isUtf8 } from 'node:buffer';
import type { Field, MapField, Type } from 'protobufjs';

/**
 * A strict pass over a response message's wire bytes before protobufjs decodes it. protobufjs is
 * lenient where a tester must not be: reading from a Buffer it clamps a length that runs past the end
 * (a truncated string decodes to a partial value), and it turns invalid UTF-8 in a `string` field
 * into U+FFFD. Both are a broken peer, reported as such (the gRPC spec: "error parsing response
 * proto" is INTERNAL). Fields the schema does not know are only checked for framing.
 */
export function checkWire(type: Type, bytes: Uint8Array): void {
  walk(bytes, 0, bytes.length, (id) => fieldShape(type, id), type.name, 0);
}

/** What a field number holds, as far as the check needs to know. */
interface Shape {
  name: string;
  /** `string`, `bytes`, a scalar type name, or `message` (then `type` is set). */
  kind: string;
  type?: Type;
  /** A map field: its entry is a message with key (1) and value (2). */
  map?: { key: string; value: Shape };
}

const MAX_DEPTH = 100;

function fieldShape(type: Type, id: number): Shape | undefined {
  const field = type.fieldsById[id] as Field | MapField | undefined;
  if (!field) return undefined;
  field.resolve();
  const valueShape = (): Shape => {
    const resolved = field.resolvedType;
    if (resolved && 'fieldsArray' in resolved) return { name: field.name, kind: 'message', type: resolved };
    return { name: field.name, kind: field.type };
  };
  if (field.map)
    return { name: field.name, kind: 'map', map: { key: (field as MapField).keyType, value: valueShape() } };
  return valueShape();
}

class WireError extends Error {}

function walk(
  buf: Uint8Array,
  start: number,
  end: number,
  shapeOf: (id: number) => Shape | undefined,
  where: string,
  depth: number,
): void {
  if (depth > MAX_DEPTH) throw new WireError(`${where}: nested more than ${MAX_DEPTH} deep`);
  let pos = start;
  const varint = (): number => {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new WireError(`${where}: truncated (a varint runs past the end)`);
      const b = buf[pos++] as number;
      if (i < 7) value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new WireError(`${where}: malformed varint`);
  };
  while (pos < end) {
    const tag = varint();
    const id = Math.floor(tag / 8);
    const wire = tag % 8;
    if (id === 0) throw new WireError(`${where}: invalid field number 0`);
    const shape = shapeOf(id);
    const name = shape ? `${where}.${shape.name}` : `${where}.#${id}`;
    switch (wire) {
      case 0:
        varint();
        break;
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (pos + n > end) throw new WireError(`${name}: truncated (needs ${n} bytes, ${end - pos} left)`);
        pos += n;
        break;
      }
      case 2: {
        const len = varint();
        if (pos + len > end)
          throw new WireError(`${name}: truncated (length ${len}, only ${end - pos} bytes left)`);
        if (shape) checkValue(buf, pos, pos + len, shape, name, depth);
        pos += len;
        break;
      }
      case 3: {
        // A proto2 group: fields until the matching end-group tag.
        const inner = pos;
        let found = false;
        while (pos < end && !found) {
          const t = varint();
          if (t === id * 8 + 4) {
            found = true;
            break;
          }
          pos = skipOne(buf, pos, end, t, name);
        }
        if (!found) throw new WireError(`${name}: truncated (group never ends)`);
        void inner;
        break;
      }
      default:
        throw new WireError(`${name}: invalid wire type ${wire}`);
    }
  }
}

/** Skip one field's value (inside a group); returns the new position. */
function skipOne(buf: Uint8Array, pos: number, end: number, tag: number, where: string): number {
  let p = pos;
  const wire = tag % 8;
  const varint = (): number => {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throw new WireError(`${where}: truncated`);
      const b = buf[p++] as number;
      if (i < 7) value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new WireError(`${where}: malformed varint`);
  };
  if (wire === 0) varint();
  else if (wire === 1) p += 8;
  else if (wire === 5) p += 4;
  else if (wire === 2) p += varint();
  else throw new WireError(`${where}: invalid wire type ${wire}`);
  if (p > end) throw new WireError(`${where}: truncated`);
  return p;
}

function checkValue(
  buf: Uint8Array,
  start: number,
  end: number,
  shape: Shape,
  name: string,
  depth: number,
): void {
  if (shape.kind === 'string') {
    // Validated without decoding (no string per field); the same strict UTF-8 as a fatal TextDecoder.
    if (!isUtf8(buf.subarray(start, end))) throw new WireError(`${name}: invalid UTF-8 in a string field`);
    return;
  }
  if (shape.kind === 'message' && shape.type) {
    const type = shape.type;
    walk(buf, start, end, (id) => fieldShape(type, id), name, depth + 1);
    return;
  }
  if (shape.map) {
    const { key, value } = shape.map;
    walk(
      buf,
      start,
      end,
      (id) => (id === 1 ? { name: 'key', kind: key } : id === 2 ? value : undefined),
      name,
      depth + 1,
    );
  }
  // bytes and packed scalars: framing only (already bounded).
}

/** True for the checker's own errors (their message says where the bytes are wrong). */
export function isWireError(err: unknown): err is Error {
  return err instanceof WireError;
}
