import type { Enum, Field, MapField, Method, OneOf, Service, Type } from 'protobufjs';
import protobuf from 'protobufjs';

/**
 * Render protobufjs reflection objects back into .proto syntax for `grpc describe`, as grpcurl
 * does: services with their methods, messages with nested types, oneofs, maps and enums.
 */
export function printProto(obj: protobuf.ReflectionObject): string {
  if (obj instanceof protobuf.Service) return printService(obj, '');
  if (obj instanceof protobuf.Method) return `${printMethod(obj)}\n`;
  if (obj instanceof protobuf.Type) return printType(obj, '');
  if (obj instanceof protobuf.Enum) return printEnum(obj, '');
  return `// ${obj.fullName.slice(1)} is a ${obj.constructor.name.toLowerCase()}\n`;
}

function name(fullName: string): string {
  return fullName.replace(/^\./, '');
}

function printService(s: Service, indent: string): string {
  const lines = [`${indent}service ${s.name} {`];
  for (const m of s.methodsArray) lines.push(`${indent}  ${printMethod(m)}`);
  lines.push(`${indent}}`);
  return `${lines.join('\n')}\n`;
}

/** `rpc GetItem(.inventory.GetItemRequest) returns (stream .inventory.Item);` */
export function printMethod(m: Method): string {
  m.resolve();
  const req = m.resolvedRequestType ? `.${name(m.resolvedRequestType.fullName)}` : m.requestType;
  const res = m.resolvedResponseType ? `.${name(m.resolvedResponseType.fullName)}` : m.responseType;
  return `rpc ${m.name}(${m.requestStream ? 'stream ' : ''}${req}) returns (${m.responseStream ? 'stream ' : ''}${res});`;
}

function typeName(f: Field): string {
  return f.resolvedType ? `.${name(f.resolvedType.fullName)}` : f.type;
}

function printField(f: Field, inOneof: boolean): string {
  if (f.map) return `map<${(f as unknown as MapField).keyType}, ${typeName(f)}> ${f.name} = ${f.id};`;
  const label = f.repeated ? 'repeated ' : !inOneof && f.options?.proto3_optional ? 'optional ' : '';
  return `${label}${typeName(f)} ${f.name} = ${f.id};`;
}

function printType(t: Type, indent: string): string {
  const lines = [`${indent}message ${t.name} {`];
  const inner = `${indent}  `;
  const realOneofs = t.oneofsArray.filter(
    (o: OneOf) => !(o.fieldsArray.length === 1 && o.fieldsArray[0]?.options?.proto3_optional),
  );
  const inOneof = new Set(realOneofs.flatMap((o) => o.fieldsArray));
  for (const f of t.fieldsArray) {
    if (inOneof.has(f)) continue;
    lines.push(`${inner}${printField(f, false)}`);
  }
  for (const o of realOneofs) {
    lines.push(`${inner}oneof ${o.name} {`);
    for (const f of o.fieldsArray) lines.push(`${inner}  ${printField(f, true)}`);
    lines.push(`${inner}}`);
  }
  for (const nested of t.nestedArray) {
    if (nested instanceof protobuf.Type) {
      // protobufjs keeps map entry types implicit; any nested Type is a real one.
      lines.push(printType(nested, inner).trimEnd());
    } else if (nested instanceof protobuf.Enum) lines.push(printEnum(nested, inner).trimEnd());
  }
  lines.push(`${indent}}`);
  return `${lines.join('\n')}\n`;
}

function printEnum(e: Enum, indent: string): string {
  const lines = [`${indent}enum ${e.name} {`];
  for (const [k, v] of Object.entries(e.values)) lines.push(`${indent}  ${k} = ${v};`);
  lines.push(`${indent}}`);
  return `${lines.join('\n')}\n`;
}

/** What kind of symbol this is, for the line above the definition. */
export function symbolKind(obj: protobuf.ReflectionObject): string {
  if (obj instanceof protobuf.Service) return 'service';
  if (obj instanceof protobuf.Method) return 'method';
  if (obj instanceof protobuf.Type) return 'message';
  if (obj instanceof protobuf.Enum) return 'enum';
  return 'symbol';
}
