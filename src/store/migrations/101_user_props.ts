import { sql, type Kysely } from 'kysely';

/** Directory users keep their less-used Graph properties (mailNickname, phones, office, ...) as one JSON column. */
export function userProps101() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql.raw(`alter table users add column props text`).execute(db);
    },
  };
}
