/**
 * OData query options for collections: $top, $skiptoken, $select, $filter, $orderby, $count
 * (and, where an endpoint allows it, $expand). $filter and $orderby are parsed by @odata/parser and
 * translated to SQL over the columns an endpoint declares; anything else is a 400 saying what.
 */
import { defaultParser } from '@odata/parser';
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { parseDateTime } from './dates.js';
import { errors } from '../errors.js';
import { model } from '../graph/model.js';

interface FieldBase {
  /** SQL expression (a column, or an expression over the row) */
  column: string;
  /** For values stored differently than shown; maps a wire value to the stored one. */
  toStored?: (wire: string) => unknown;
}

export type FieldSpec =
  | (FieldBase & { type: 'string' | 'number' | 'boolean' })
  | (FieldBase & {
      type: 'date';
      /**
       * `ms` (the default): the column holds `Date.toISOString()` text, shown as it is. `seconds`: Graph
       * shows the date to the second (mail) and the column may hold milliseconds or not.
       */
      precision?: 'ms' | 'seconds';
    })
  | (FieldBase & {
      type: 'enum';
      /** The CSDL enum's name, or the member names where the contract has no enum (mail). */
      members: string | readonly string[];
    });

export interface CollectionSpec {
  /** Filterable / orderable properties by wire name (paths like `restoreSessionArtifactCount/total` allowed). */
  fields: Record<string, FieldSpec>;
  /** Properties allowed in $select. */
  selectable: readonly string[];
  /** Default order (SQL columns); must end with a unique column so paging is stable. */
  defaultOrder: Array<[string, 'asc' | 'desc']>;
  /** Unique tiebreaker column appended to every order. */
  key: string;
  maxTop?: number;
  defaultTop?: number;
  /** Extra system query options this endpoint accepts (e.g. '$expand'). */
  extraOptions?: readonly string[];
  /** Maximum number of and/or terms in $filter; beyond → FilterLengthExceeded. */
  maxFilterTerms?: number;
}

export interface CollectionQuery {
  where: RawBuilder<SqlBool> | undefined;
  orderBy: Array<[string, 'asc' | 'desc']>;
  top: number;
  skip: number;
  select: Set<string> | undefined;
  count: boolean;
  raw: Record<string, string>;
}

const SYSTEM = new Set(['$top', '$skiptoken', '$select', '$filter', '$orderby', '$count', '$expand', '$skip', '$search', '$format', '$apply']);

/** Reads query options. Names are case-insensitive and may be sent without the `$`, as Graph allows. */
export function normalizeQuery(query: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) throw errors.badRequest(`Query option '${k}' was specified more than once.`);
    let name = k.toLowerCase();
    if (!name.startsWith('$') && SYSTEM.has('$' + name)) name = '$' + name;
    out[name] = String(v);
  }
  return out;
}

/** 400 for any system query option the endpoint does not support. */
export function rejectUnsupported(q: Record<string, string>, allowed: readonly string[]): void {
  for (const k of Object.keys(q)) {
    if (k.startsWith('$') && !allowed.includes(k)) {
      throw errors.badRequest(`Query option '${k}' is not supported on this resource.`);
    }
  }
}

export function parseCollectionQuery(query: Record<string, unknown>, spec: CollectionSpec): CollectionQuery {
  const { q, skip } = collectionOptions(query);
  rejectUnsupported(q, ['$top', '$skiptoken', '$select', '$filter', '$orderby', '$count', ...(spec.extraOptions ?? [])]);
  const maxTop = spec.maxTop ?? 999;
  let top = spec.defaultTop ?? 100;
  if (q.$top !== undefined) {
    if (!/^\d+$/.test(q.$top) || Number(q.$top) < 1) throw errors.badRequest(`Invalid value '${q.$top}' for query option $top: a positive integer is required.`);
    top = Math.min(Number(q.$top), maxTop);
  }
  const select = q.$select !== undefined ? parseSelect(q.$select, spec.selectable) : undefined;
  let count = false;
  if (q.$count !== undefined) {
    if (q.$count !== 'true' && q.$count !== 'false') throw errors.badRequest(`Invalid value '${q.$count}' for query option $count.`);
    count = q.$count === 'true';
  }
  const where = q.$filter !== undefined ? parseFilter(q.$filter, spec.fields, spec.maxFilterTerms) : undefined;
  const orderBy = q.$orderby !== undefined ? parseOrderBy(q.$orderby, spec.fields) : [...spec.defaultOrder];
  if (!orderBy.some(([c]) => c === spec.key)) orderBy.push([spec.key, orderBy[orderBy.length - 1]?.[1] ?? 'asc']);
  return { where, orderBy, top, skip, select, count, raw: q };
}

/**
 * The options a collection request asks for, and where its page starts. A `$skiptoken` of this
 * version carries the options of the query it continues: they are the query, and whatever else the
 * request sends is ignored, as Graph does — a client that adds its `$select` to a stored link again
 * changes nothing, and the link it is given next is as long as the one it followed. A token of the
 * previous version (`{"o":N}`: its link carried the options) takes them from the request.
 */
function collectionOptions(query: Record<string, unknown>): { q: Record<string, string>; skip: number } {
  const name = Object.keys(query).find((k) => /^\$?skiptoken$/i.test(k));
  if (name === undefined) return { q: normalizeQuery(query), skip: 0 };
  const sent = query[name];
  if (typeof sent !== 'string') throw errors.badRequest(`Query option '${name}' was specified more than once.`);
  const token = decodeSkipToken(sent);
  if (token.query === undefined) return { q: normalizeQuery(query), skip: token.offset };
  return { q: { ...token.query, $skiptoken: sent }, skip: token.offset };
}

export function parseSelect(text: string, selectable: readonly string[]): Set<string> {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw errors.badRequest('$select needs at least one property.');
  const lower = new Map(selectable.map((s) => [s.toLowerCase(), s]));
  const out = new Set<string>();
  for (const n of names) {
    const real = lower.get(n.toLowerCase());
    if (!real) throw errors.badRequest(`Could not find a property named '${n}' on type for $select.`);
    out.add(real);
  }
  return out;
}

export interface SkipToken {
  /** Rows before the page. */
  offset: number;
  /** The query's options (normalized names), minus `$skiptoken`; absent in a token of the previous version. */
  query?: Record<string, string>;
}

/** Options a skip token may hold: more is no query any endpoint takes. */
const MAX_TOKEN_OPTIONS = 16;

/** A `$skiptoken`: base64url of `{"o":offset,"q":{options}}`, the options as the request that began the query sent them. */
export function encodeSkipToken(offset: number, query: Record<string, string>): string {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) if (k !== '$skiptoken') q[k] = v;
  return Buffer.from(JSON.stringify({ o: offset, q })).toString('base64url');
}

/**
 * A `$skiptoken` of this version or the previous one (`{"o":N}`), or 400. The offset must be an
 * integer both databases bind as one (a safe integer: 1e20 or 2^64 made SQLite answer "datatype
 * mismatch" and PostgreSQL "out of range for type bigint"); the options must be strings. What the
 * options say is checked as any request's options are, so a token changed by hand asks nothing a
 * request could not ask itself.
 */
export function decodeSkipToken(token: string): SkipToken {
  const invalid = () => errors.badRequest('The $skiptoken is invalid or has expired.');
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw invalid();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isObject(v) || Object.keys(v).some((k) => k !== 'o' && k !== 'q')) throw invalid();
  const { o, q } = v;
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) throw invalid();
  if (q === undefined) return { offset: o };
  if (!isObject(q)) throw invalid();
  const entries = Object.entries(q);
  if (entries.length > MAX_TOKEN_OPTIONS || entries.some(([k, x]) => typeof x !== 'string' || k !== k.toLowerCase() || k === '$skiptoken' || k === '')) throw invalid();
  return { offset: o, query: q as Record<string, string> };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Node = { type: string; value: any; raw: string };

function lookupField(fields: Record<string, FieldSpec>, name: string): FieldSpec {
  const f = fields[name] ?? Object.entries(fields).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  if (!f) throw errors.badRequest(`Could not find a property named '${name}' that can be used in $filter or $orderby.`);
  return f;
}

function propertyPath(node: Node): string | undefined {
  let n: Node | undefined = node;
  while (n && ['FirstMemberExpression', 'MemberExpression', 'CommonExpression'].includes(n.type)) n = n.value;
  if (n?.type === 'PropertyPathExpression') return n.raw;
  return undefined;
}

function literal(node: Node, field: FieldSpec, path: string): unknown {
  if (node.type !== 'Literal') throw errors.badRequest(`Only literal values can be compared with '${path}'.`);
  const t = node.value as string;
  if (t === 'null') return null;
  switch (field.type) {
    case 'string': {
      if (t !== 'Edm.String') throw errors.badRequest(`A string literal is required for '${path}'.`);
      const s = stringOf(node);
      return field.toStored ? field.toStored(s) : s;
    }
    case 'enum': {
      if (t !== 'Edm.String') throw errors.badRequest(`A string literal is required for '${path}'.`);
      const s = stringOf(node);
      const members = enumMembers(field.members);
      const member = members.find((m) => m.toLowerCase() === s.toLowerCase());
      if (member === undefined) throw errors.badRequest(`Invalid filter clause: '${s}' is not a valid value of '${path}'; use one of: ${members.join(', ')}.`);
      return field.toStored ? field.toStored(member) : member;
    }
    case 'date':
      return dateOf(node, path).toISOString();
    case 'number': {
      const n = Number(node.raw);
      if (!Number.isFinite(n)) throw errors.badRequest(`A number is required for '${path}'.`);
      return n;
    }
    case 'boolean':
      if (t !== 'Edm.Boolean') throw errors.badRequest(`A boolean is required for '${path}'.`);
      return node.raw === 'true' ? 1 : 0;
  }
}

const stringOf = (node: Node): string => node.raw.slice(1, -1).replace(/''/g, "'");

function dateOf(node: Node, path: string): Date {
  const d = parseDateTime(node.value === 'Edm.String' ? stringOf(node) : node.raw);
  if (!d) throw errors.badRequest(`'${node.raw}' is not a valid DateTimeOffset for '${path}'.`);
  return d;
}

const membersOf = new Map<string, readonly string[]>();

/** An enum field's members: a CSDL enum's in either version (evolvable ones included), or the list given. */
function enumMembers(members: string | readonly string[]): readonly string[] {
  if (typeof members !== 'string') return members;
  let names = membersOf.get(members);
  if (!names) {
    const all = (['v1.0', 'beta'] as const).flatMap((v) => model(v).enums.get(members)?.members.map((m) => m.name) ?? []);
    if (all.length === 0) throw new Error(`unknown enum ${members}`);
    membersOf.set(members, (names = [...new Set(all)]));
  }
  return names;
}

/**
 * `column op at` for a date shown to the second: the column is seen as its whole second, and compared
 * with the bounds of `at`'s second as text, which every stored form (with milliseconds or without)
 * of a time in that second sorts between.
 */
function secondsCompare(col: RawBuilder<unknown>, op: string, at: Date): RawBuilder<SqlBool> {
  const ms = at.getTime();
  const second = Math.floor(ms / 1000) * 1000;
  const whole = ms === second;
  const from = new Date(second).toISOString().slice(0, 19);
  const next = new Date(second + 1000).toISOString().slice(0, 19);
  switch (op) {
    case '=':
      return whole ? sql<SqlBool>`(${col} >= ${from} and ${col} < ${next})` : sql<SqlBool>`(1 = 0)`;
    case '<>':
      return whole ? sql<SqlBool>`(${col} < ${from} or ${col} >= ${next})` : sql<SqlBool>`(${col} is not null)`;
    case '<':
      return sql<SqlBool>`(${col} < ${whole ? from : next})`;
    case '<=':
      return sql<SqlBool>`(${col} < ${next})`;
    case '>':
      return sql<SqlBool>`(${col} >= ${next})`;
    default:
      return sql<SqlBool>`(${col} >= ${whole ? from : next})`;
  }
}

const COMPARE: Record<string, string> = {
  EqualsExpression: '=',
  NotEqualsExpression: '<>',
  LesserThanExpression: '<',
  LesserOrEqualsExpression: '<=',
  GreaterThanExpression: '>',
  GreaterOrEqualsExpression: '>=',
};

export function parseFilter(text: string, fields: Record<string, FieldSpec>, maxTerms = 50): RawBuilder<SqlBool> {
  let ast: Node;
  try {
    ast = defaultParser.filter(text) as unknown as Node;
  } catch {
    throw errors.badRequest(`Invalid filter clause: syntax error in '${text}'.`);
  }
  let terms = 0;
  const walk = (n: Node): RawBuilder<SqlBool> => {
    switch (n.type) {
      case 'AndExpression':
      case 'OrExpression': {
        terms++;
        if (terms > maxTerms) throw errors.filterLengthExceeded(`The filter has more than ${maxTerms} and/or terms.`);
        const l = walk(n.value.left);
        const r = walk(n.value.right);
        return n.type === 'AndExpression' ? sql<SqlBool>`(${l} and ${r})` : sql<SqlBool>`(${l} or ${r})`;
      }
      case 'NotExpression':
        return sql<SqlBool>`(not ${walk(n.value)})`;
      case 'BoolParenExpression':
      case 'ParenExpression':
        return walk(n.value);
      default: {
        const op = COMPARE[n.type];
        if (op) {
          const path = propertyPath(n.value.left);
          if (!path) throw errors.badRequest(`The left side of '${n.raw}' must be a property.`);
          const field = lookupField(fields, path);
          const right: Node = n.value.right;
          const col = sql.raw(field.column);
          if (field.type === 'date' && field.precision === 'seconds' && !(right.type === 'Literal' && right.value === 'null')) {
            return secondsCompare(col, op, dateOf(right, path));
          }
          const v = literal(right, field, path);
          if (v === null) return op === '=' ? sql<SqlBool>`(${col} is null)` : op === '<>' ? sql<SqlBool>`(${col} is not null)` : sql<SqlBool>`(1 = 0)`;
          return sql<SqlBool>`(${col} ${sql.raw(op)} ${v})`;
        }
        if (n.type === 'MethodCallExpression') return methodCall(n, fields);
        throw errors.badRequest(`Unsupported expression in $filter: '${n.raw}'.`);
      }
    }
  };
  return walk(ast);
}

function methodCall(n: Node, fields: Record<string, FieldSpec>): RawBuilder<SqlBool> {
  const method = String(n.value.method).toLowerCase();
  const params = n.value.parameters as Node[];
  if (!['startswith', 'endswith', 'contains'].includes(method) || params.length !== 2) {
    throw errors.badRequest(`Unsupported function '${n.value.method}' in $filter.`);
  }
  const path = propertyPath(params[0]);
  if (!path) throw errors.badRequest(`The first argument of ${method} must be a property.`);
  const field = lookupField(fields, path);
  if (field.type !== 'string') throw errors.badRequest(`${method} needs a string property.`);
  const v = String(literal(params[1], field, path)).replace(/[\\%_]/g, (c) => '\\' + c);
  const pattern = method === 'startswith' ? `${v}%` : method === 'endswith' ? `%${v}` : `%${v}%`;
  return sql<SqlBool>`(lower(${sql.raw(field.column)}) like lower(${pattern}) escape '\\')`;
}

export function parseOrderBy(text: string, fields: Record<string, FieldSpec>): Array<[string, 'asc' | 'desc']> {
  const out: Array<[string, 'asc' | 'desc']> = [];
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z][\w/]*)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!m) throw errors.badRequest(`Invalid $orderby clause '${part.trim()}'.`);
    const field = lookupField(fields, m[1]);
    out.push([field.column, (m[2]?.toLowerCase() as 'asc' | 'desc') ?? 'asc']);
  }
  return out;
}

/** ORDER BY fragment for a parsed query. */
export function orderSql(order: Array<[string, 'asc' | 'desc']>): RawBuilder<unknown> {
  return sql.raw(order.map(([c, d]) => `${c} ${d}`).join(', '));
}
