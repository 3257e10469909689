/**
 * Output shaping against the contract: evolvable enum members become `unknownFutureValue` unless the
 * client sent `Prefer: include-unknown-enum-members`, flags enums are comma-separated strings, and
 * `$select` keeps only the asked properties.
 */
import { model, typeName, type GraphModel } from './model.js';

export interface ShapeOptions {
  version: 'v1.0' | 'beta';
  includeUnknownEnumMembers: boolean;
  select?: Set<string>;
}

export function shape(type: string, value: Record<string, unknown>, o: ShapeOptions): Record<string, unknown> {
  const m = model(o.version);
  const out = shapeStructured(m, type, value, o.includeUnknownEnumMembers);
  if (!o.select) return out;
  const picked: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    if (k.startsWith('@odata.') || k === 'id' || o.select.has(k)) picked[k] = v;
  }
  return picked;
}

function shapeStructured(m: GraphModel, type: string, value: Record<string, unknown>, unknown: boolean): Record<string, unknown> {
  const odataType = typeof value['@odata.type'] === 'string' ? (value['@odata.type'] as string).replace(/^#microsoft\.graph\./, '') : type;
  const def = m.types.get(odataType) ?? m.types.get(type);
  if (!def) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = def.properties.get(k);
    out[k] = p && v !== null && v !== undefined ? shapeValue(m, p.type, v, unknown) : v;
  }
  return out;
}

function shapeValue(m: GraphModel, t: string, v: unknown, unknown: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => shapeValue(m, t, x, unknown));
  const name = typeName(t);
  const en = m.enums.get(name);
  if (en) {
    if (typeof v !== 'string') return v;
    const parts = en.isFlags ? v.split(',').map((s) => s.trim()) : [v];
    const mapped = parts.map((p) => (!unknown && en.evolvable.has(p) ? 'unknownFutureValue' : p));
    return [...new Set(mapped)].join(',');
  }
  if (typeof v === 'object' && v !== null && m.types.has(name)) {
    return shapeStructured(m, name, v as Record<string, unknown>, unknown);
  }
  return v;
}

/** Names of the properties a type declares (own and inherited), for body validation. */
export function propertyNames(version: 'v1.0' | 'beta', type: string): Set<string> {
  const def = model(version).types.get(type);
  if (!def) throw new Error(`unknown type ${type}`);
  return new Set(def.properties.keys());
}

/** Converts a flags enum value to its member names ("manual,dynamicRule"); 0 is the zero member. */
export function flagsToString(version: 'v1.0' | 'beta', enumName: string, value: number): string {
  const en = model(version).enums.get(enumName);
  if (!en) throw new Error(`unknown enum ${enumName}`);
  if (value === 0) return en.members.find((x) => x.value === 0)?.name ?? 'none';
  return en.members.filter((x) => x.value !== 0 && (value & x.value) === x.value).map((x) => x.name).join(',');
}

/** Parses a flags enum string ("manual, dynamicRule") to its value; undefined when a member is unknown. */
export function parseFlags(version: 'v1.0' | 'beta', enumName: string, text: string): number | undefined {
  const en = model(version).enums.get(enumName);
  if (!en) throw new Error(`unknown enum ${enumName}`);
  let v = 0;
  for (const part of text.split(',').map((s) => s.trim())) {
    const member = en.members.find((x) => x.name.toLowerCase() === part.toLowerCase());
    if (!member) return undefined;
    v |= member.value;
  }
  return v;
}

/** Whether `value` is a member of the enum (member names are matched exactly). */
export function isEnumMember(version: 'v1.0' | 'beta', enumName: string, value: unknown): boolean {
  const en = model(version).enums.get(enumName);
  return typeof value === 'string' && !!en?.members.some((x) => x.name === value);
}
