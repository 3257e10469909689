/**
 * What every Graph handler gets: who is calling (principal, tenant), which API version, how to build
 * absolute URLs, and helpers that put entities and collections on the wire in Graph's shape.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../identity/tokens.js';
import { errors } from '../errors.js';
import { shape } from '../graph/shape.js';
import { propertyNames } from '../graph/shape.js';
import { encodeSkipToken, type CollectionQuery } from './odata.js';

export interface GraphRequest {
  principal: Principal;
  tenantId: string;
  version: 'v1.0' | 'beta';
  /** scheme://host of the request, for absolute links */
  origin: string;
  includeUnknownEnumMembers: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    graph?: GraphRequest;
    clientRequestId: string;
  }
  interface FastifyContextConfig {
    /** Permission-table operation (see http/permissions.ts); required on every Graph route. */
    op?: import('./permissions.js').Operation;
    /** Route accepts a text/plain body (MIME upload). */
    acceptsText?: boolean;
    /** Route needs no token (health, keys). */
    public?: boolean;
  }
}

export function graphOf(req: FastifyRequest): GraphRequest {
  if (!req.graph) throw new Error('route is not a Graph route');
  return req.graph;
}

export function versionBase(g: GraphRequest): string {
  return `${g.origin}/${g.version}`;
}

/** `<base>/v1.0/$metadata#solutions/backupRestore/<path>` */
export function contextUrl(g: GraphRequest, path: string): string {
  return `${versionBase(g)}/$metadata#${path}`;
}

export interface EntityReply {
  type: string;
  value: Record<string, unknown>;
  /** @odata.context fragment after '#', e.g. solutions/backupRestore/exchangeRestoreSessions/$entity */
  context?: string;
  status?: number;
  /** Path (after the version) of the created entity; sets Location and Content-Location. */
  location?: string;
  select?: Set<string>;
}

export function sendEntity(reply: FastifyReply, g: GraphRequest, r: EntityReply): FastifyReply {
  if (r.location) {
    const url = `${versionBase(g)}/${r.location.replace(/^\//, '')}`;
    reply.header('Location', url).header('Content-Location', url);
  }
  return reply.code(r.status ?? 200).send(entityBody(g, r));
}

function entityBody(g: GraphRequest, r: EntityReply): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (r.context) body['@odata.context'] = contextUrl(g, r.context);
  Object.assign(body, shape(r.type, r.value, { version: g.version, includeUnknownEnumMembers: g.includeUnknownEnumMembers, select: r.select }));
  return body;
}

/** Serialized answers per kept row: the JSON text for each way of asking (origin, version, enum preference, type). */
const serialized = new WeakMap<object, Map<string, string>>();

/**
 * `sendEntity` for an entity made from a row kept in memory, which is replaced, never changed, when the
 * entity changes (a cached tenant or session row): its JSON is made once per way of asking and sent as
 * text. Clients poll such entities (a session's status while it restores), and serializing is most of
 * what answering them costs. The text is what `sendEntity` would send, byte for byte.
 */
export function sendKeptEntity(reply: FastifyReply, g: GraphRequest, row: object, r: Omit<EntityReply, 'value' | 'location' | 'status'>, value: () => Record<string, unknown>): FastifyReply {
  if (r.select) return sendEntity(reply, g, { ...r, value: value() });
  const key = `${g.origin} ${g.version} ${g.includeUnknownEnumMembers ? 1 : 0} ${r.type} ${r.context ?? ''}`;
  let texts = serialized.get(row);
  let text = texts?.get(key);
  if (text === undefined) {
    text = JSON.stringify(entityBody(g, { ...r, value: value() }));
    if (!texts) serialized.set(row, (texts = new Map()));
    if (texts.size < 8) texts.set(key, text);
  }
  return reply.code(200).type('application/json; charset=utf-8').send(text);
}

export interface CollectionReply {
  type: string;
  items: Array<Record<string, unknown>>;
  context: string;
  query?: CollectionQuery;
  /** True when more rows exist after this page. */
  hasMore?: boolean;
  count?: number;
}

export function sendCollection(reply: FastifyReply, req: FastifyRequest, g: GraphRequest, r: CollectionReply): FastifyReply {
  const body: Record<string, unknown> = { '@odata.context': contextUrl(g, r.context) };
  if (r.count !== undefined) body['@odata.count'] = r.count;
  body.value = r.items.map((item) =>
    shape(r.type, item, { version: g.version, includeUnknownEnumMembers: g.includeUnknownEnumMembers, select: r.query?.select }),
  );
  if (r.hasMore && r.query) body['@odata.nextLink'] = nextLink(req, g, '$skiptoken', encodeSkipToken(r.query.skip + r.query.top, r.query.raw));
  return reply.code(200).send(body);
}

/**
 * The request's own path with one option, the token that continues it (`$skiptoken` or
 * `$deltatoken`) and nothing else, as Graph's links are: the token holds the query's options, so a
 * client that adds its own options to a stored link again (the Graph SDKs' `.select()` appends to a
 * `$select` already in the link) sends a longer request, never stores a longer link.
 */
export function nextLink(req: FastifyRequest, g: GraphRequest, option: '$skiptoken' | '$deltatoken', token: string): string {
  const url = new URL(req.url, g.origin);
  url.search = '';
  return `${url.toString()}?${option}=${encodeURIComponent(token)}`;
}

/**
 * The request body as an object of the given type: every key must be a property of the type (or an
 * OData annotation, or one of `extra`), else 400 naming the property. Read-only properties are let
 * through here and ignored by the handler, as Graph does.
 */
export function readBody(req: FastifyRequest, g: GraphRequest, type: string, extra: readonly string[] = []): Record<string, unknown> {
  const body = req.body;
  if (body === undefined || body === '') return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.badRequest(`The request body must be a JSON object of type 'microsoft.graph.${type}'.`);
  }
  const names = propertyNames(g.version, type);
  for (const key of Object.keys(body)) {
    if (key.startsWith('@odata.') || extra.includes(key)) continue;
    const base = key.includes('@') ? key.slice(0, key.indexOf('@')) : key;
    if (names.has(base) && (base === key || key.endsWith('@odata.bind'))) continue;
    throw errors.badRequest(
      `The property '${key}' does not exist on type 'microsoft.graph.${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    );
  }
  return body as Record<string, unknown>;
}

/** `@odata.type` in a body, if any, must name the expected type. */
export function checkODataType(body: Record<string, unknown>, expected: string): void {
  const t = body['@odata.type'];
  if (t === undefined) return;
  if (typeof t !== 'string' || t.replace(/^#/, '').replace(/^microsoft\.graph\./, '') !== expected) {
    throw errors.badRequest(`A type named '${String(t)}' could not be resolved; expected '#microsoft.graph.${expected}'.`);
  }
}
