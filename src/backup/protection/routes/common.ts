/** What the control plane's handlers share: paging over a query, ids, the caller's identity. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql, type SelectQueryBuilder } from 'kysely';
import type { DB } from '../../../store/schema.js';
import type { Core } from '../../../core.js';
import { errors, type GraphError } from '../../../errors.js';
import type { GraphRequest } from '../../../http/context.js';
import { orderSql, type CollectionQuery } from '../../../http/odata.js';
import { identitySetOf } from '../wire.js';
import { policyById } from '../policies.js';

export const BASE = '/solutions/backupRestore';
export const CONTEXT = 'solutions/backupRestore';

/** Ids the server makes are GUIDs; anything else cannot name an entity (the Invalid*Id errors). */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkId(id: string, invalid: (message: string) => GraphError, what: string): string {
  if (!GUID.test(id)) throw invalid(`'${id}' is not a valid ${what} id.`);
  return id.toLowerCase();
}

/** The caller as the identitySet JSON stored in createdBy / lastModifiedBy. */
export function byOf(g: GraphRequest): string {
  return JSON.stringify(identitySetOf(g.principal));
}

export function isDelegated(g: GraphRequest): boolean {
  return g.principal.kind === 'delegated';
}

/** One page of a filtered, ordered query (top + 1 rows tell whether more follow), and $count when asked. */
export async function page<O>(
  qb: SelectQueryBuilder<DB, any, O>,
  q: CollectionQuery,
): Promise<{ rows: O[]; hasMore: boolean; count?: number }> {
  const filtered = q.where ? qb.where(q.where) : qb;
  const rows = await filtered
    .orderBy(orderSql(q.orderBy) as any)
    .limit(q.top + 1)
    .offset(q.skip)
    .execute();
  let count: number | undefined;
  if (q.count) {
    const r = await filtered.clearSelect().select(sql<number>`count(*)`.as('n')).executeTakeFirst();
    count = Number((r as { n?: unknown } | undefined)?.n ?? 0);
  }
  return { rows: rows.slice(0, q.top), hasMore: rows.length > q.top, count };
}

/** 202 with the entity and its Content-Location, as the activate / deactivate examples show. */
export function contentLocation(reply: FastifyReply, g: GraphRequest, path: string): FastifyReply {
  return reply.header('Content-Location', `${g.origin}/${g.version}/${path.replace(/^\//, '')}`);
}

export function params(req: FastifyRequest): Record<string, string> {
  return req.params as Record<string, string>;
}

/** The policy of a policy-scoped path (`.../protectionPolicies/{policyId}/...`; 404 PolicyNotFound), or undefined at the root set. */
export async function policyOf(core: Core, req: FastifyRequest, tenantId: string): Promise<string | undefined> {
  const raw = params(req).policyId;
  if (raw === undefined) return undefined;
  const id = checkId(raw, errors.invalidPolicyId, 'policy');
  await policyById(core.store.db, tenantId, id);
  return id;
}

/** Keeps only plain objects. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
