/**
 * VaultService — what other areas (restore sessions, engine) use of the vault, handed to them by app.ts.
 *
 *   getRestorePoint(tenantId, id)            → RestorePoint | undefined (unknown, another tenant's, or expired)
 *   restorePointWire(point, {includeUnit?, delegated?})
 *                                            → the Graph JSON of the point; a Promise when includeUnit is true
 *   getSearchResponse(tenantId, id)          → { id, unitId, restorePointIds } | undefined
 *   searchHitIds(searchResponseId, restorePointId) → async iterable of batches of matched item ids
 *   pickRestorePoint(tenantId, mailboxId, {start?, end?, preference, tags?}) → RestorePoint | undefined
 *   stateAt(tenantId, mailboxId, at)         → async iterable of { folders } batches, then { messages } batches
 *   messageVersionsAt(tenantId, mailboxId, at, itemIds) → MessageVersion[] (those that existed at `at`)
 *
 * Reads go through `core.store.db` unless a reader is given: never call them with the default reader
 * from inside a `store.write` function (pass the transaction instead).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import { flagsToString } from '../graph/shape.js';
import type { RetentionHold, VaultContext } from './context.js';
import { FAST_RESTORE, getPoint, preferredPoint, type RestorePoint } from './restorePoints.js';
import { getSearchResponse, searchHitIds } from './search.js';
import { messageVersionsAt, stateAt, type MessageVersion, type StateBatch } from './state.js';
import { FAST_RESTORE_MS, iso } from './time.js';
import { BoundedMap } from '../boundedMap.js';

export type { RestorePoint } from './restorePoints.js';
export type { ItemVersion, FolderVersion, MessageVersion, StateBatch } from './state.js';

export interface SearchResponseRef {
  id: string;
  /** The unit searched when exactly one was (always so for granular searches). */
  unitId: string | null;
  restorePointIds: string[];
}

export interface PickOptions {
  start?: string | null;
  end?: string | null;
  preference?: 'latest' | 'oldest' | string | null;
  /** restorePointTags flags */
  tags?: number | null;
}

export interface VaultService {
  getRestorePoint(tenantId: string, id: string): Promise<RestorePoint | undefined>;
  restorePointWire(point: RestorePoint, o?: { includeUnit?: false; delegated?: boolean }): Record<string, unknown>;
  restorePointWire(point: RestorePoint, o: { includeUnit: true; delegated?: boolean }): Promise<Record<string, unknown>>;
  getSearchResponse(tenantId: string, id: string): Promise<SearchResponseRef | undefined>;
  searchHitIds(searchResponseId: string, restorePointId: string): AsyncIterable<string[]>;
  pickRestorePoint(tenantId: string, mailboxId: string, o: PickOptions): Promise<RestorePoint | undefined>;
  stateAt(tenantId: string, mailboxId: string, at: string | Date, reader?: Kysely<DB>): AsyncIterable<StateBatch>;
  messageVersionsAt(tenantId: string, mailboxId: string, at: string | Date, itemIds: string[], reader?: Kysely<DB>): Promise<MessageVersion[]>;
  /** Registers what work in progress still needs of expired points: the garbage collection keeps it. */
  holdRetention(hold: RetentionHold): void;
}

interface UnitView {
  delegated?: boolean;
  version?: 'v1.0' | 'beta';
}

/** The restorePoint entity on the wire, without its unit. */
export function pointWire(point: RestorePoint): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.restorePoint',
    id: point.id,
    protectionDateTime: point.protectionDateTime,
    expirationDateTime: point.expirationDateTime,
    tags: flagsToString('v1.0', 'restorePointTags', point.tags),
  };
}

/** The expanded protectionUnit of a point, as the protection area shows it (a bare reference when it cannot). */
export async function unitWire(ctx: VaultContext, tenantId: string, unitId: string, view: UnitView = {}): Promise<Record<string, unknown>> {
  const unit = await ctx.protection.getUnit(tenantId, unitId, view);
  return unit ?? { '@odata.type': '#microsoft.graph.mailboxProtectionUnit', id: unitId };
}

export async function pointWireWithUnit(ctx: VaultContext, point: RestorePoint, view: UnitView = {}): Promise<Record<string, unknown>> {
  return { ...pointWire(point), protectionUnit: await unitWire(ctx, point.tenantId, point.unitId, view) };
}

export function createVaultService(ctx: VaultContext): VaultService {
  const db = (reader?: Kysely<DB>) => reader ?? ctx.core.store.db;
  function restorePointWire(point: RestorePoint, o?: { includeUnit?: false; delegated?: boolean }): Record<string, unknown>;
  function restorePointWire(point: RestorePoint, o: { includeUnit: true; delegated?: boolean }): Promise<Record<string, unknown>>;
  function restorePointWire(point: RestorePoint, o: { includeUnit?: boolean; delegated?: boolean } = {}) {
    return o.includeUnit ? pointWireWithUnit(ctx, point, { delegated: o.delegated ?? false }) : pointWire(point);
  }
  const points = pointCache(ctx);
  return {
    getRestorePoint: (tenantId, id) => points.get(tenantId, id),
    holdRetention: (hold) => void ctx.holds.push(hold),
    restorePointWire,
    getSearchResponse: (tenantId, id) => getSearchResponse(ctx, tenantId, id),
    searchHitIds: (searchResponseId, restorePointId) => searchHitIds(ctx, searchResponseId, restorePointId),
    pickRestorePoint(tenantId, mailboxId, o) {
      const window = { start: o.start ? iso(o.start) : undefined, end: o.end ? iso(o.end) : undefined, tags: o.tags ?? undefined };
      return preferredPoint(ctx, tenantId, { mailboxId }, window, o.preference === 'oldest' ? 'oldest' : 'latest', ctx.core.clock.now());
    },
    stateAt: (tenantId, mailboxId, at, reader) => stateAt(db(reader), tenantId, mailboxId, iso(at)),
    messageVersionsAt: (tenantId, mailboxId, at, itemIds, reader) => messageVersionsAt(db(reader), tenantId, mailboxId, iso(at), itemIds),
  };
}

/**
 * Restore points never change once written (expiry only removes them), so points read by id are
 * kept, per server; expiry is still checked against the clock on every read.
 */
function pointCache(ctx: VaultContext, max = 10_000) {
  const rows = new BoundedMap<string, RestorePoint>(max);
  return {
    async get(tenantId: string, id: string): Promise<RestorePoint | undefined> {
      const now = ctx.core.clock.now();
      const key = tenantId + '\u0000' + id;
      const hit = rows.get(key);
      if (hit) {
        if (hit.expirationDateTime <= now.toISOString()) return undefined;
        // fastRestore holds only while the point is young; a cached point only ever gets older.
        const fresh = now.getTime() - new Date(hit.protectionDateTime).getTime() < FAST_RESTORE_MS;
        return fresh ? hit : { ...hit, tags: hit.tags & ~FAST_RESTORE };
      }
      const point = await getPoint(ctx.core.store.db, tenantId, id, now);
      if (point) rows.set(key, point);
      return point;
    },
  };
}
