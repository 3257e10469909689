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

/**
 * Per type, only the properties whose values may need rewriting (enums, structured values), as two
 * parallel arrays; computed once per type.
 */
interface Plan {
  keys: string[];
  types: string[];
}
const plans = new Map<GraphModel, Map<string, Plan>>();

function planFor(m: GraphModel, type: string): Plan | undefined {
  let byType = plans.get(m);
  if (!byType) plans.set(m, (byType = new Map()));
  let plan = byType.get(type);
  if (plan) return plan;
  const def = m.types.get(type);
  if (!def) return undefined;
  plan = { keys: [], types: [] };
  for (const [name, p] of def.properties) {
    const t = typeName(p.type);
    if (m.enums.has(t) || m.types.has(t)) {
      plan.keys.push(name);
      plan.types.push(p.type);
    }
  }
  byType.set(type, plan);
  return plan;
}

/**
 * The value as the client must see it. Values that need no rewriting come back as they are (the
 * same object or array): most responses have nothing to rewrite, so shaping them copies nothing.
 */
function shapeStructured(m: GraphModel, type: string, value: Record<string, unknown>, unknown: boolean): Record<string, unknown> {
  const declared = value['@odata.type'];
  const odataType = typeof declared === 'string' ? declared.replace(/^#microsoft\.graph\./, '') : type;
  const plan = planFor(m, odataType) ?? planFor(m, type);
  if (!plan) return value;
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < plan.keys.length; i++) {
    const k = plan.keys[i];
    const v = value[k];
    if (v === null || v === undefined) continue;
    const shaped = shapeValue(m, plan.types[i], v, unknown);
    if (shaped !== v) (out ??= { ...value })[k] = shaped;
  }
  return out ?? value;
}

function shapeValue(m: GraphModel, t: string, v: unknown, unknown: boolean): unknown {
  if (Array.isArray(v)) {
    let changed: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const shaped = shapeValue(m, t, v[i], unknown);
      if (shaped !== v[i]) (changed ??= v.slice())[i] = shaped;
    }
    return changed ?? v;
  }
  const name = typeName(t);
  const en = m.enums.get(name);
  if (en) {
    if (typeof v !== 'string' || unknown || en.evolvable.size === 0) return v;
    if (!en.isFlags) return en.evolvable.has(v) ? 'unknownFutureValue' : v;
    const mapped = v.split(',').map((p) => (en.evolvable.has(p.trim()) ? 'unknownFutureValue' : p.trim()));
    return [...new Set(mapped)].join(',');
  }
  if (typeof v === 'object' && v !== null && m.types.has(name)) {
    return shapeStructured(m, name, v as Record<string, unknown>, unknown);
  }
  return v;
}

const names = new Map<string, ReadonlySet<string>>();

/** Names of the properties a type declares (own and inherited), for body validation; made once per type. */
export function propertyNames(version: 'v1.0' | 'beta', type: string): ReadonlySet<string> {
  const key = `${version}:${type}`;
  let set = names.get(key);
  if (!set) {
    const def = model(version).types.get(type);
    if (!def) throw new Error(`unknown type ${type}`);
    names.set(key, (set = new Set(def.properties.keys())));
  }
  return set;
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
