/**
 * Granular search at one restore point: which messages of the mailbox, as it was at time T, match
 * the query. The keyword index (when the query has a part it can express) yields candidate versions;
 * each is kept only if it is the item's current version at T, then the evaluator decides. A query the
 * index cannot narrow is answered by reading the whole state at T.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import type { VaultContext } from './context.js';
import { messageFacts } from './facts.js';
import { evaluate } from './query/evaluate.js';
import { toFtsMatch } from './query/fts.js';
import { usesDumpsterTime, type QueryNode } from './query/parser.js';
import { latestPage, STATE_BATCH } from './state.js';

interface Version {
  item_id: string;
  props: string | null;
}

/** Item ids (ascending) of the messages matching `node` in the mailbox as it was at `at`. */
export async function granularHits(ctx: VaultContext, tenantId: string, mailboxId: string, at: string, node: QueryNode): Promise<string[]> {
  const db = ctx.core.store.db;
  const hits: string[] = [];
  const needDumpster = usesDumpsterTime(node);
  const judge = async (versions: Version[]) => {
    const dumpster = needDumpster ? await supersededAt(db, tenantId, mailboxId, at, versions.map((v) => v.item_id)) : undefined;
    for (const v of versions) {
      const facts = messageFacts(JSON.parse(v.props ?? '{}'));
      if (evaluate(node, { facts, dumpsterTime: dumpster?.get(v.item_id) ?? null })) hits.push(v.item_id);
    }
  };
  const match = ctx.index.available ? toFtsMatch(node) : null;
  if (match) {
    let after = 0;
    for (;;) {
      const page = await sql<{ rowid: number }>`${ctx.index.matchSql(tenantId, mailboxId, match)} and rowid > ${after} order by rowid limit ${STATE_BATCH}`.execute(db);
      if (page.rows.length === 0) break;
      const seqs = page.rows.map((r) => Number(r.rowid));
      after = seqs[seqs.length - 1];
      const current = await sql<Version>`
        select v.item_id, v.props from vault_versions v
        where v.seq in (${sql.join(seqs)}) and v.tenant_id = ${tenantId} and v.mailbox_id = ${mailboxId}
          and v.item_kind = 'message' and v.op = 'upsert' and v.at <= ${at}
          and not exists (select 1 from vault_versions w
            where w.tenant_id = ${tenantId} and w.mailbox_id = ${mailboxId} and w.item_id = v.item_id and w.at <= ${at} and w.seq > v.seq)`.execute(db);
      await judge(current.rows);
      if (seqs.length < STATE_BATCH) break;
    }
    hits.sort();
    return [...new Set(hits)];
  }
  let afterId: string | undefined;
  for (;;) {
    const page = await latestPage(db, tenantId, mailboxId, 'message', at, afterId, STATE_BATCH);
    await judge(page.items.map((i) => ({ item_id: i.itemId, props: JSON.stringify(i.props) })));
    if (page.last === undefined) break;
    afterId = page.last;
  }
  return hits;
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
