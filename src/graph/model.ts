/**
 * The Graph contract of the backupRestore slice, read from Microsoft's CSDL (metadata/*.xml): the
 * enums (with their evolvable members), complex and entity types with their properties. Names and
 * members come from here, so they cannot drift from Microsoft's.
 */
import fs from 'node:fs';
import { XMLParser } from 'fast-xml-parser';

export interface EnumDef {
  name: string;
  isFlags: boolean;
  members: Array<{ name: string; value: number }>;
  /** Members declared after unknownFutureValue: returned only with Prefer: include-unknown-enum-members. */
  evolvable: Set<string>;
}

export interface PropertyDef {
  name: string;
  /** e.g. Edm.String, graph.identitySet, Collection(graph.retentionSetting) */
  type: string;
  nullable: boolean;
  navigation: boolean;
}

export interface StructuredDef {
  name: string;
  kind: 'entity' | 'complex';
  baseType: string | undefined;
  abstract: boolean;
  open: boolean;
  /** Own and inherited properties by name. */
  properties: Map<string, PropertyDef>;
}

export interface GraphModel {
  version: 'v1.0' | 'beta';
  csdl: string;
  enums: Map<string, EnumDef>;
  types: Map<string, StructuredDef>;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const localName = (t: string) => t.replace(/^Collection\((.*)\)$/, '$1').replace(/^(graph|microsoft\.graph)\./, '');

export function loadModel(version: 'v1.0' | 'beta'): GraphModel {
  const csdl = fs.readFileSync(new URL(`../../metadata/${version}.xml`, import.meta.url), 'utf8');
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
  const schema = parser.parse(csdl).Schema;
  const enums = new Map<string, EnumDef>();
  for (const e of asArray<any>(schema.EnumType)) {
    const members = asArray<any>(e.Member).map((m) => ({ name: String(m.Name), value: Number(m.Value) }));
    const ufv = members.findIndex((m) => m.name === 'unknownFutureValue');
    enums.set(e.Name, {
      name: e.Name,
      isFlags: e.IsFlags === 'true',
      members,
      evolvable: new Set(ufv < 0 ? [] : members.slice(ufv + 1).map((m) => m.name)),
    });
  }
  const raw = new Map<string, { def: any; kind: 'entity' | 'complex' }>();
  for (const c of asArray<any>(schema.ComplexType)) raw.set(c.Name, { def: c, kind: 'complex' });
  for (const c of asArray<any>(schema.EntityType)) raw.set(c.Name, { def: c, kind: 'entity' });
  const types = new Map<string, StructuredDef>();
  const resolve = (name: string): StructuredDef | undefined => {
    const done = types.get(name);
    if (done) return done;
    const r = raw.get(name);
    if (!r) return undefined;
    const base = r.def.BaseType ? resolve(localName(r.def.BaseType)) : undefined;
    const properties = new Map<string, PropertyDef>(base?.properties ?? []);
    for (const p of asArray<any>(r.def.Property)) {
      properties.set(p.Name, { name: p.Name, type: p.Type, nullable: p.Nullable !== 'false', navigation: false });
    }
    for (const p of asArray<any>(r.def.NavigationProperty)) {
      properties.set(p.Name, { name: p.Name, type: p.Type, nullable: true, navigation: true });
    }
    const def: StructuredDef = {
      name,
      kind: r.kind,
      baseType: r.def.BaseType ? localName(r.def.BaseType) : undefined,
      abstract: r.def.Abstract === 'true',
      open: r.def.OpenType === 'true' || base?.open === true,
      properties,
    };
    types.set(name, def);
    return def;
  };
  for (const name of raw.keys()) resolve(name);
  // The beta CSDL kept here is partial (see its header): an enum it lacks is v1.0's, which spec §10 says beta keeps as is.
  if (version === 'beta') for (const [name, en] of model('v1.0').enums) if (!enums.has(name)) enums.set(name, en);
  return { version, csdl, enums, types };
}

const cache: Record<string, GraphModel> = {};
export function model(version: 'v1.0' | 'beta'): GraphModel {
  return (cache[version] ??= loadModel(version));
}

const names = new Map<string, string>();
export function typeName(t: string): string {
  let n = names.get(t);
  if (n === undefined) names.set(t, (n = localName(t)));
  return n;
}
export function isCollection(t: string): boolean {
  return t.startsWith('Collection(');
}
