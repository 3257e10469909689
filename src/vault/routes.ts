/**
 * The Graph face of the vault: GET restorePoints (with the required $expand and $filter),
 * GET restorePoints/{id}, POST restorePoints/search.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql, type SqlBool } from 'kysely';
import { graphOf, sendCollection, sendEntity } from '../http/context.js';
import { parseDateTime } from '../http/dates.js';
import { errors, GraphError } from '../errors.js';
import { normalizeQuery, orderSql, parseCollectionQuery, rejectUnsupported, type CollectionQuery, type CollectionSpec } from '../http/odata.js';
import { parseFlags } from '../graph/shape.js';
import type { VaultContext } from './context.js';
import { getPoint, toPoint } from './restorePoints.js';
import { pointWire, pointWireWithUnit, unitWire } from './service.js';
import { MAX_RESULTS, runSearch, type SearchRequest } from './search.js';
import { parseQuery, QueryError } from './query/parser.js';

const LIST_SPEC: CollectionSpec = {
  fields: {
    protectionDateTime: { column: 'protection_at', type: 'date' },
    expirationDateTime: { column: 'expires_at', type: 'date' },
  },
  selectable: ['id', 'protectionDateTime', 'expirationDateTime', 'tags', 'protectionUnit'],
  defaultOrder: [['protection_at', 'desc']],
  key: 'id',
  maxTop: MAX_RESULTS,
  defaultTop: MAX_RESULTS,
  extraOptions: ['$expand'],
  maxFilterTerms: 10,
};

const EXPAND = /^\s*protectionUnit\s*\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i;
const EXPAND_HELP = "$expand=protectionUnit($filter=id eq '<protectionUnitId>')";
const MAX_UNIT_IDS = 20;
const MAX_ID_LENGTH = 256;

/** How the expanded unit is shown: displayName and email only to delegated callers. */
const viewOf = (req: FastifyRequest) => ({ delegated: graphOf(req).principal.kind === 'delegated', version: graphOf(req).version });

/** The ids among `ids` that name a protection unit of the tenant (or one that has restore points). */
async function knownUnits(ctx: VaultContext, tenantId: string, ids: string[]): Promise<Set<string>> {
  const db = ctx.core.store.db;
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    for (const r of await db.selectFrom('protection_units').select('id').where('tenant_id', '=', tenantId).where('id', 'in', part).execute()) known.add(r.id);
    for (const r of await db.selectFrom('vault_mailboxes').select('unit_id').where('tenant_id', '=', tenantId).where('unit_id', 'in', part).execute()) known.add(r.unit_id);
  }
  return known;
}

function checkUnitId(id: unknown): string {
  if (typeof id !== 'string' || id.trim() === '' || id.length > MAX_ID_LENGTH) {
    throw errors.invalidProtectionUnitId(`'${String(id)}' is not a valid protection unit id.`);
  }
  return id;
}

function readDate(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const d = parseDateTime(v);
  if (!d) throw errors.invalidSearchRequest(`protectionTimePeriod.${name} must be an ISO 8601 date-time, not ${JSON.stringify(v)}.`);
  return d.toISOString();
}

export function vaultRoutes(app: FastifyInstance, ctx: VaultContext): void {
  const base = '/solutions/backupRestore/restorePoints';

  app.get(base, { config: { op: 'restorePoints.read' } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    const raw = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(raw, ['$expand', '$filter', '$orderby', '$top', '$select', '$count', '$skiptoken']);
    if (raw.$expand === undefined) throw errors.invalidSearchRequest(`The query option ${EXPAND_HELP} is required.`);
    const m = EXPAND.exec(raw.$expand);
    if (!m) throw errors.invalidSearchRequest(`Unsupported $expand '${raw.$expand}': use ${EXPAND_HELP}.`);
    const unitId = checkUnitId(m[1].replace(/''/g, "'"));
    if (raw.$filter === undefined) throw errors.invalidSearchRequest('The query option $filter on protectionDateTime is required, e.g. $filter=protectionDateTime lt 2024-01-01T00:00:00Z.');
    if (!/\bprotectionDateTime\b/i.test(raw.$filter)) throw errors.invalidSearchRequest(`The $filter must constrain protectionDateTime (lt, le, gt, ge), not '${raw.$filter}'.`);
    let q: CollectionQuery;
    try {
      q = parseCollectionQuery(req.query as Record<string, unknown>, LIST_SPEC);
    } catch (error) {
      // A $filter or $orderby the list cannot use is a bad search window, as the ERR table names it.
      if (error instanceof GraphError && error.code === 'BadRequest') throw errors.invalidSearchRequest(error.message);
      throw error;
    }
    if (!(await knownUnits(ctx, g.tenantId, [unitId])).has(unitId)) throw errors.invalidProtectionUnitId(`The protection unit '${unitId}' does not exist.`);
    const now = ctx.core.clock.now();
    const where = sql<SqlBool>`tenant_id = ${g.tenantId} and unit_id = ${unitId} and expires_at > ${now.toISOString()} and ${q.where ?? sql`1 = 1`}`;
    const rows = await sql<Parameters<typeof toPoint>[0]>`select * from restore_points where ${where} order by ${orderSql(q.orderBy)} limit ${q.top} offset ${q.skip}`.execute(ctx.core.store.db);
    const unit = await unitWire(ctx, g.tenantId, unitId, viewOf(req));
    const items = rows.rows.map((r) => ({ ...pointWire(toPoint(r, now)), protectionUnit: unit }));
    let count: number | undefined;
    if (q.count) {
      const c = await sql<{ n: number }>`select count(*) as n from restore_points where ${where}`.execute(ctx.core.store.db);
      count = Number(c.rows[0].n);
    }
    return sendCollection(reply, req, g, { type: 'restorePoint', items, context: 'solutions/backupRestore/restorePoints', query: q, count });
  });

  app.get(`${base}/:restorePointId`, { config: { op: 'restorePoints.read' } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    const raw = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(raw, ['$select', '$expand']);
    if (raw.$expand !== undefined && !/^\s*protectionUnit\s*$/i.test(raw.$expand)) throw errors.badRequest(`Unsupported $expand '${raw.$expand}': only protectionUnit can be expanded.`);
    const { restorePointId } = req.params as { restorePointId: string };
    const point = await getPoint(ctx.core.store.db, g.tenantId, restorePointId, ctx.core.clock.now());
    if (!point) throw errors.restorePointNotFound(`The restore point '${restorePointId}' was not found.`);
    const select = raw.$select !== undefined ? new Set(raw.$select.split(',').map((s) => s.trim())) : undefined;
    return sendEntity(reply, g, {
      type: 'restorePoint',
      value: await pointWireWithUnit(ctx, point, viewOf(req)),
      context: 'solutions/backupRestore/restorePoints/$entity',
      select,
    });
  });

  app.post(`${base}/search`, { config: { op: 'restorePoints.read' } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const search = await readSearch(ctx, g.tenantId, req.body);
    const outcome = await runSearch(ctx, g.tenantId, search);
    const view = viewOf(req);
    const searchResults = [];
    for (const r of outcome.results) {
      const restorePoint = await pointWireWithUnit(ctx, r.point, view);
      searchResults.push(r.hitCount === undefined ? { restorePoint } : { artifactHitCount: r.hitCount, restorePoint });
    }
    return sendEntity(reply, g, {
      type: 'restorePointSearchResponse',
      value: { searchResponseId: outcome.id, searchResults, noResultProtectionUnitIds: outcome.noResultUnitIds },
      context: 'microsoft.graph.restorePointSearchResponse',
    });
  });
}

const SEARCH_PARAMETERS = ['protectionUnitIds', 'protectionTimePeriod', 'restorePointPreference', 'tags', 'artifactQuery'];

/** The body of restorePoints/search, validated: each failure is a 400 naming what is wrong. */
async function readSearch(ctx: VaultContext, tenantId: string, body: unknown): Promise<SearchRequest> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.invalidSearchRequest('The request body must be a JSON object with protectionUnitIds and protectionTimePeriod.');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!key.startsWith('@odata.') && !SEARCH_PARAMETERS.includes(key)) {
      throw errors.badRequest(`The parameter '${key}' is not a parameter of the action 'microsoft.graph.search'; its parameters are ${SEARCH_PARAMETERS.join(', ')}.`);
    }
  }
  if (b.protectionUnitIds === undefined || b.protectionUnitIds === null) throw errors.invalidSearchRequest('protectionUnitIds is required.');
  if (!Array.isArray(b.protectionUnitIds)) throw errors.invalidSearchRequest('protectionUnitIds must be an array of protection unit ids.');
  if (b.protectionUnitIds.length === 0) throw errors.invalidSearchRequest('protectionUnitIds must name at least one protection unit.');
  if (b.protectionUnitIds.length > MAX_UNIT_IDS) {
    throw errors.invalidSearchRequest(`protectionUnitIds names ${b.protectionUnitIds.length} protection units; at most ${MAX_UNIT_IDS} are allowed.`);
  }
  const unitIds = [...new Set(b.protectionUnitIds.map(checkUnitId))];

  const period = b.protectionTimePeriod;
  if (period === undefined || period === null) throw errors.invalidSearchRequest('protectionTimePeriod is required.');
  if (typeof period !== 'object' || Array.isArray(period)) throw errors.invalidSearchRequest('protectionTimePeriod must be an object with startDateTime and, optionally, endDateTime.');
  const p = period as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (!key.startsWith('@odata.') && key !== 'startDateTime' && key !== 'endDateTime') throw errors.invalidSearchRequest(`protectionTimePeriod has no property '${key}'.`);
  }
  const start = readDate(p.startDateTime, 'startDateTime');
  if (!start) throw errors.invalidSearchRequest('protectionTimePeriod.startDateTime is required.');
  const end = readDate(p.endDateTime, 'endDateTime');
  if (end && end < start) throw errors.invalidSearchRequest(`protectionTimePeriod ends (${end}) before it starts (${start}).`);

  let preference: SearchRequest['preference'];
  if (b.restorePointPreference !== undefined && b.restorePointPreference !== null) {
    if (b.restorePointPreference !== 'latest' && b.restorePointPreference !== 'oldest') {
      throw errors.invalidSearchRequest(`restorePointPreference must be 'latest' or 'oldest', not ${JSON.stringify(b.restorePointPreference)}.`);
    }
    preference = b.restorePointPreference;
  }
  let tags: number | undefined;
  if (b.tags !== undefined && b.tags !== null) {
    const t = typeof b.tags === 'string' ? parseFlags('v1.0', 'restorePointTags', b.tags) : undefined;
    if (t === undefined || t & 2) throw errors.invalidSearchRequest(`tags must be 'none' or 'fastRestore', not ${JSON.stringify(b.tags)}.`);
    tags = t;
  }

  let query: SearchRequest['query'];
  if (b.artifactQuery !== undefined && b.artifactQuery !== null) {
    const a = b.artifactQuery as Record<string, unknown>;
    if (typeof a !== 'object' || Array.isArray(a)) throw errors.invalidSearchRequest('artifactQuery must be an object with artifactType and queryExpression.');
    for (const key of Object.keys(a)) {
      if (!key.startsWith('@odata.') && key !== 'artifactType' && key !== 'queryExpression') throw errors.invalidSearchRequest(`artifactQuery has no property '${key}'.`);
    }
    if (a.artifactType !== undefined && a.artifactType !== null && a.artifactType !== 'message') {
      throw errors.invalidSearchRequest(`artifactQuery.artifactType must be 'message', not ${JSON.stringify(a.artifactType)}.`);
    }
    if (typeof a.queryExpression !== 'string') throw errors.invalidSearchRequest('artifactQuery.queryExpression is required.');
    if (unitIds.length !== 1) {
      throw errors.invalidSearchRequest(`A search with artifactQuery takes exactly one protection unit id; ${unitIds.length} were given.`);
    }
    try {
      query = { expression: a.queryExpression, node: parseQuery(a.queryExpression) };
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      throw error.tooLong ? errors.filterLengthExceeded(error.message) : errors.invalidSearchRequest(`Invalid queryExpression: ${error.message}`);
    }
  }

  const known = await knownUnits(ctx, tenantId, unitIds);
  const unknown = unitIds.find((u) => !known.has(u));
  if (unknown !== undefined) throw errors.invalidProtectionUnitId(`The protection unit '${unknown}' does not exist.`);
  return { unitIds, start, end, preference, tags, query };
}
