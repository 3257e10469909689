import { sql, type Kysely } from 'kysely';

/**
 * No index of messages by content hash: its entries land at random places (the hashes are random),
 * so a thousand-message write dirtied about a thousand of its pages and tripled what the commit
 * writes. Its one reader, the vault's daily collection of unreferenced content, reads the hashes of
 * the messages in one pass instead.
 */
export function messagesBlob102() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index messages_blob`.execute(db);
    },
  };
}
