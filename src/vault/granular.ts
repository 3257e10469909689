/**
 * Granular search at one restore point: which messages of the mailbox, as it was at time T, match
 * the query. Candidates come from an index, then the evaluator decides on each item's version at T:
 *  - the keyword index, when the query has a part it can express (words, exact values, facets);
 *  - otherwise the time index, when the query needs PitrDumpsterActionTriggeredTime: only items
 *    changed after T can have one;
 *  - otherwise (nothing to narrow by) the whole state at T is read.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import type { VaultContext } from './context.js';
import { messageFacts } from './facts.js';
import { evaluate } from './query/evaluate.js';
import { toFtsMatch } from './query/fts.js';
import { usesDumpsterTime, type Comparison, type QueryNode } from './query/parser.js';
import { latestPage, messageVersionsAt, STATE_BATCH } from './state.js';
import { catchUpIndex } from './indexer.js';
import { versionProps } from './latest.js';

interface Version {
  item_id: string;
  props: string | Record<string, unknown> | null;
}

/** Item ids (ascending) of the messages matching `node` in the mailbox as it was at `at`. */
export async function granularHits(ctx: VaultContext, tenantId: string, mailboxId: string, at: string, node: QueryNode): Promise<string[]> {
  const db = ctx.core.store.db;
  const hits: string[] = [];
  const needDumpster = usesDumpsterTime(node);
  const judge = async (versions: Version[]) => {
    const dumpster = needDumpster ? await supersededAt(db, tenantId, mailboxId, at, versions.map((v) => v.item_id)) : undefined;
    for (const v of versions) {
      const props = typeof v.props === 'string' ? (JSON.parse(v.props) as Record<string, unknown>) : (v.props ?? {});
      if (evaluate(node, { facts: messageFacts(props), dumpsterTime: dumpster?.get(v.item_id) ?? null })) hits.push(v.item_id);
    }
  };

  const match = ctx.index.available ? toFtsMatch(node) : null;
  if (match) {
    await catchUpIndex(ctx);
    let after = 0;
    for (;;) {
      const page = await sql<{ rowid: number }>`${ctx.index.matchSql(tenantId, mailboxId, match)} and rowid > ${after} order by rowid limit ${STATE_BATCH}`.execute(db);
      if (page.rows.length === 0) break;
      const seqs = page.rows.map((r) => Number(r.rowid));
      after = seqs[seqs.length - 1];
      // Unary + keeps SQLite on the rowid lookups (this branch is SQLite's); a mailbox-wide index scan costs 100x.
      const current = await sql<Version>`
        select v.item_id, ${versionProps('v')} as props from vault_versions v
        where v.seq in (${sql.join(seqs)}) and +v.tenant_id = ${tenantId} and +v.mailbox_id = ${mailboxId}
          and v.item_kind = 'message' and v.op = 'upsert' and +v.at <= ${at}
          and not exists (select 1 from vault_versions w
            where w.tenant_id = ${tenantId} and w.mailbox_id = ${mailboxId} and w.item_id = v.item_id and w.at <= ${at} and w.seq > v.seq)`.execute(db);
      await judge(current.rows);
      if (seqs.length < STATE_BATCH) break;
    }
    return [...new Set(hits)].sort();
  }

  const changed = dumpsterCondition(node);
  if (changed) {
    const items = await changedAfter(db, tenantId, mailboxId, at, changed);
    for (let i = 0; i < items.length; i += STATE_BATCH) {
      const versions = await messageVersionsAt(db, tenantId, mailboxId, at, items.slice(i, i + STATE_BATCH));
      await judge(versions.map((v) => ({ item_id: v.itemId, props: v.props })));
    }
    return hits.sort();
  }

  let afterId: string | undefined;
  for (;;) {
    const page = await latestPage(db, tenantId, mailboxId, 'message', at, afterId, STATE_BATCH);
    await judge(page.items.map((i) => ({ item_id: i.itemId, props: i.props })));
    if (page.last === undefined) break;
    afterId = page.last;
  }
  return hits;
}

type DumpsterComparison = Extract<Comparison, { kind: 'dumpsterTime' }>;

/** A dumpster-time comparison every match must satisfy (one under the top -and, or the query itself). */
function dumpsterCondition(node: QueryNode): DumpsterComparison | undefined {
  if (node.kind === 'dumpsterTime') return node;
  if (node.kind === 'and') for (const c of node.children) if (c.kind === 'dumpsterTime') return c;
  return undefined;
}

const SQL_OP = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

/** Messages with a version after `at` whose time satisfies the comparison (a superset of the matches). */
async function changedAfter(db: Kysely<DB>, tenantId: string, mailboxId: string, at: string, c: DumpsterComparison): Promise<string[]> {
  const rows = await db
    .selectFrom('vault_versions')
    .select('item_id')
    .distinct()
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId)
    .where('at', '>', at)
    .where('at', SQL_OP[c.operator], c.value)
    .where('item_kind', '=', 'message')
    .execute();
  return rows.map((r) => r.item_id).sort();
}

/** When each item's version at `at` was superseded (its first later version), if it was. */
async function supersededAt(db: Kysely<DB>, tenantId: string, mailboxId: string, at: string, itemIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < itemIds.length; i += 500) {
    const rows = await db
      .selectFrom('vault_versions')
      .select((e) => ['item_id', e.fn.min('at').as('t')])
      .where('tenant_id', '=', tenantId)
      .where('mailbox_id', '=', mailboxId)
      .where('item_id', 'in', itemIds.slice(i, i + 500))
      .where('at', '>', at)
      .groupBy('item_id')
      .execute();
    for (const r of rows) if (r.t) out.set(r.item_id, r.t);
  }
  return out;
}
