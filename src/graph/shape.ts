/**
 * Output shaping against the contract: evolvable enum members become `unknownFutureValue` unless the
 * client sent `Prefer: include-unknown-enum-members`, flags enums are comma-separated strings, and
 * `$select` keeps only the asked properties.
 */
import { model, typeName, type EnumDef, type GraphModel } from './model.js';

export interface ShapeOptions {
  version: 'v1.0' | 'beta';
  includeUnknownEnumMembers: boolean;
  select?: Set<string>;
}

export function shape(type: string, value: Record<string, unknown>, o: ShapeOptions): Record<string, unknown> {
  // Evolvable members are the only rewriting; a client that accepts them gets every value as it is.
  const out = o.includeUnknownEnumMembers ? value : shapeStructured(model(o.version), type, value);
  if (!o.select) return out;
  const picked: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    if (k.startsWith('@odata.') || k === 'id' || o.select.has(k)) picked[k] = v;
  }
  return picked;
}

/** A property whose value may need rewriting: an enum with evolvable members, or a structured value. */
interface Step {
  key: string;
  /** Set for an enum property. */
  en?: EnumDef;
  /** Set for a structured property: its declared type. */
  type?: string;
}

/**
 * Per type, the properties whose values may need rewriting, computed once: enum properties whose enum
 * has evolvable members, and structured properties whose type (or a type derived from it, which a
 * value may name with `@odata.type`) has any. Most types have none, and shaping them costs a lookup.
 */
interface Plans {
  byType: Map<string, Step[]>;
  /** Types derived from each type, directly or not. */
  derived: Map<string, string[]>;
}
const plansOf = new Map<GraphModel, Plans>();

function plansFor(m: GraphModel): Plans {
  let plans = plansOf.get(m);
  if (!plans) {
    const derived = new Map<string, string[]>();
    for (const def of m.types.values()) {
      for (let base = def.baseType; base !== undefined; base = m.types.get(base)?.baseType) {
        let list = derived.get(base);
        if (!list) derived.set(base, (list = []));
        list.push(def.name);
      }
    }
    plansOf.set(m, (plans = { byType: new Map(), derived }));
  }
  return plans;
}

/** Steps of a type, made on first use; undefined for a type the model does not know. */
function planFor(m: GraphModel, type: string, visiting?: Set<string>): Step[] | undefined {
  return plansFor(m).byType.get(type) ?? buildPlan(m, type, visiting ?? new Set());
}

/** Makes (and keeps) a type's steps. `visiting` breaks cycles: a type met again while being planned may change. */
function buildPlan(m: GraphModel, type: string, visiting: Set<string>): Step[] | undefined {
  const def = m.types.get(type);
  if (!def) return undefined;
  visiting.add(type);
  const steps: Step[] = [];
  for (const [key, p] of def.properties) {
    const t = typeName(p.type);
    const en = m.enums.get(t);
    if (en) {
      if (en.evolvable.size > 0) steps.push({ key, en });
    } else if (m.types.has(t) && mayChange(m, t, visiting)) {
      steps.push({ key, type: t });
    }
  }
  visiting.delete(type);
  plansFor(m).byType.set(type, steps);
  return steps;
}

function mayChange(m: GraphModel, type: string, visiting: Set<string>): boolean {
  for (const t of [type, ...(plansFor(m).derived.get(type) ?? [])]) {
    if (visiting.has(t) || (planFor(m, t, visiting)?.length ?? 0) > 0) return true;
  }
  return false;
}

/**
 * The value as the client must see it. Values that need no rewriting come back as they are (the
 * same object or array): most responses have nothing to rewrite, so shaping them copies nothing.
 */
function shapeStructured(m: GraphModel, type: string, value: Record<string, unknown>): Record<string, unknown> {
  const declared = value['@odata.type'];
  const steps = (typeof declared === 'string' ? planFor(m, declared.replace(/^#microsoft\.graph\./, '')) : undefined) ?? planFor(m, type);
  if (!steps) return value;
  let out: Record<string, unknown> | undefined;
  for (const step of steps) {
    const v = value[step.key];
    if (v === null || v === undefined) continue;
    const shaped = shapeValue(m, step, v);
    if (shaped !== v) (out ??= { ...value })[step.key] = shaped;
  }
  return out ?? value;
}

function shapeValue(m: GraphModel, step: Step, v: unknown): unknown {
  if (Array.isArray(v)) {
    let changed: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const shaped = shapeValue(m, step, v[i]);
      if (shaped !== v[i]) (changed ??= v.slice())[i] = shaped;
    }
    return changed ?? v;
  }
  const en = step.en;
  if (en) {
    if (typeof v !== 'string') return v;
    if (!en.isFlags) return en.evolvable.has(v) ? 'unknownFutureValue' : v;
    const mapped = v.split(',').map((p) => (en.evolvable.has(p.trim()) ? 'unknownFutureValue' : p.trim()));
    return [...new Set(mapped)].join(',');
  }
  if (typeof v === 'object' && v !== null) return shapeStructured(m, step.type!, v as Record<string, unknown>);
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
