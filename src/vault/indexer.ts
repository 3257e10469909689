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
      const { versions, last, looked } = await ctx.index.pending(trx, from, BATCH);
      if (last === undefined) return { done: true, indexed: 0 };
      await ctx.index.add(trx, versions);
      await ctx.index.setWatermark(trx, last);
      return { done: looked < BATCH, indexed: versions.length };
    });
    total += indexed;
    if (done) return total;
  }
}
