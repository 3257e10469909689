/**
 * The keyword index follows the capture instead of slowing it: versions are appended with the
 * change, and this indexer adds the message upserts among them to the index in batches, on every
 * scheduler tick and before every granular search (so a search always sees every captured change).
 * Progress is a seq watermark: SQLite has one writer, so every seq below a committed one is committed.
 */
import type { VaultContext } from './context.js';

const BATCH = 5000;

/** Indexes what was appended since the watermark (one run at a time); returns how many versions were indexed. */
export async function catchUpIndex(ctx: VaultContext): Promise<number> {
  while (ctx.indexing) await ctx.indexing;
  if (!ctx.unindexed || !ctx.index.available) return 0;
  ctx.unindexed = false;
  ctx.indexing = run(ctx).finally(() => {
    ctx.indexing = undefined;
  });
  return ctx.indexing;
}

async function run(ctx: VaultContext): Promise<number> {
  let total = 0;
  for (;;) {
    const { done, indexed } = await ctx.core.store.write(async (trx) => {
      const from = await ctx.index.watermark(trx);
      const rows = await trx
        .selectFrom('vault_versions')
        .select(['seq', 'tenant_id', 'mailbox_id', 'item_kind', 'op', 'props'])
        .where('seq', '>', from)
        .orderBy('seq')
        .limit(BATCH)
        .execute();
      if (rows.length === 0) return { done: true, indexed: 0 };
      const messages = rows
        .filter((r) => r.item_kind === 'message' && r.op === 'upsert' && r.props)
        .map((r) => ({ seq: Number(r.seq), tenantId: r.tenant_id, mailboxId: r.mailbox_id, props: JSON.parse(r.props!) as Record<string, unknown> }));
      await ctx.index.add(trx, messages);
      await ctx.index.setWatermark(trx, Number(rows[rows.length - 1].seq));
      return { done: rows.length < BATCH, indexed: messages.length };
    });
    total += indexed;
    if (done) return total;
  }
}
