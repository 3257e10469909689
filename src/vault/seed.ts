/**
 * The vault's part of the demo tenant. Protection's seed has protected the demo mailboxes, so they
 * are captured and each has its "protection begins" restore point. Two of those real points get the
 * ids the documentation's examples use, and a real granular search over the first is recorded under
 * the documented searchResponseId.
 */
import type { VaultContext } from './context.js';
import { parseQuery } from './query/parser.js';
import { runSearch } from './search.js';

export const DEMO_POINT_IDS = ['1f1fccc3-a642-4f61-bf49-f37b9a888279', '1f1fccc3-a642-4f61-bf49-f37b9a888280'] as const;
export const DEMO_SEARCH_RESPONSE_ID = 'M2UyZDAwMDAwMDMxMzkzYTMyNj';
/** The demo's granular search (docs/vault.md): messages that have an attachment. */
export const DEMO_QUERY = "HasAttachment -eq 'true'";

export async function seedVaultDemo(ctx: VaultContext, tenantId: string): Promise<void> {
  const { store } = ctx.core;
  const mailboxes = await store.db
    .selectFrom('vault_mailboxes as m')
    .innerJoin('restore_points as p', (j) =>
      j.onRef('p.tenant_id', '=', 'm.tenant_id').onRef('p.unit_id', '=', 'm.unit_id').onRef('p.protection_at', '=', 'm.protected_since'),
    )
    .select(['m.mailbox_id', 'm.unit_id', 'p.id as point_id', 'p.protection_at'])
    .select((eb) =>
      eb
        .selectFrom('vault_versions as v')
        .select((e) => e.fn.countAll().as('n'))
        .whereRef('v.tenant_id', '=', 'm.tenant_id')
        .whereRef('v.mailbox_id', '=', 'm.mailbox_id')
        .where('v.item_kind', '=', 'message')
        .as('messages'),
    )
    .where('m.tenant_id', '=', tenantId)
    .where('m.protected', '=', 1)
    .orderBy('m.protected_since')
    .orderBy('m.mailbox_id')
    .execute();
  const withMail = mailboxes.filter((m) => Number(m.messages) > 0);
  const first = withMail[0];
  const second = withMail[1] ?? mailboxes.find((m) => m !== first);
  if (!first || !second) {
    console.warn('[mailvault] demo: fewer than two protected demo mailboxes with mail; the documented restore point ids are not seeded');
    return;
  }
  await store.write(async (trx) => {
    for (const [m, id] of [[first, DEMO_POINT_IDS[0]], [second, DEMO_POINT_IDS[1]]] as const) {
      await trx.updateTable('restore_points').set({ id }).where('tenant_id', '=', tenantId).where('id', '=', m.point_id).execute();
    }
  });
  await runSearch(
    ctx,
    tenantId,
    {
      unitIds: [first.unit_id],
      start: first.protection_at,
      end: first.protection_at,
      preference: 'latest',
      query: { expression: DEMO_QUERY, node: parseQuery(DEMO_QUERY) },
    },
    { id: DEMO_SEARCH_RESPONSE_ID },
  );
}
