/**
 * The keyword index follows the capture instead of slowing it: versions are appended with the
 * change, and this indexer adds the message upserts among them to the index in batches, on scheduler
 * ticks and before every granular search (so a search always sees every captured change).
 * Progress is a seq watermark: SQLite has one writer, so every seq below a committed one is committed.
 *
 * While versions keep coming (a restore or an import writing thousands a second), a tick indexes
 * one batch only, so the indexer does not compete with the writer for the connection; once a tick
 * finds the capture quiet, it catches up completely.
 */
import type { VaultContext } from './context.js';

const BATCH = 5000;
/** Versions a tick indexes while the capture is busy. */
const BUSY_TICK_BATCH = 1000;

/** Indexes what was appended since the watermark (one run at a time); returns how many versions were indexed. */
export function catchUpIndex(ctx: VaultContext): Promise<number> {
  return index(ctx, Infinity);
}

/** The scheduler's task: a full catch-up when nothing was captured since the previous tick, one small batch otherwise. */
export function indexOnTick(ctx: VaultContext): Promise<number> {
  const busy = ctx.capturedSinceTick;
  ctx.capturedSinceTick = false;
  return busy ? index(ctx, BUSY_TICK_BATCH) : index(ctx, Infinity);
}

async function index(ctx: VaultContext, limit: number): Promise<number> {
  while (ctx.indexing) await ctx.indexing;
  if (!ctx.unindexed || !ctx.index.available) return 0;
  ctx.unindexed = false;
  ctx.indexing = run(ctx, limit).finally(() => {
    ctx.indexing = undefined;
  });
  return ctx.indexing;
}

async function run(ctx: VaultContext, limit: number): Promise<number> {
  let looked = 0;
  let total = 0;
  for (;;) {
    const batch = Math.min(BATCH, limit - looked);
    const { done, indexed, seen } = await ctx.core.store.write(async (trx) => {
      const from = await ctx.index.watermark(trx);
      const { versions, last, looked } = await ctx.index.pending(trx, from, batch);
      if (last === undefined) return { done: true, indexed: 0, seen: 0 };
      await ctx.index.add(trx, versions);
      await ctx.index.setWatermark(trx, last);
      return { done: looked < batch, indexed: versions.length, seen: looked };
    });
    total += indexed;
    looked += seen;
    if (done) return total;
    if (looked >= limit) {
      ctx.unindexed = true; // more is waiting for the next tick or search
      return total;
    }
  }
}
