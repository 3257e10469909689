/**
 * The keyword index over captured message versions: on SQLite an FTS5 table (`vault_fts`, contentless,
 * rowid = vault_versions.seq) whose `scope` column holds one token per mailbox so a match never leaves
 * the mailbox; on PostgreSQL there is no index yet and granular search scans the state at the point.
 * This file is the only place that knows the difference.
 */
import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import type { DialectName } from '../store/dialect.js';
import { allFacetTokens, messageFacts } from './facts.js';

export interface IndexedVersion {
  seq: number;
  tenantId: string;
  mailboxId: string;
  props: Record<string, unknown>;
}

export interface KeywordIndex {
  /** False when searches must scan. */
  readonly available: boolean;
  add(trx: Kysely<DB>, versions: IndexedVersion[]): Promise<void>;
  /** Seq up to which every version has been looked at (kept in server_state). */
  watermark(trx: Kysely<DB>): Promise<number>;
  setWatermark(trx: Kysely<DB>, seq: number): Promise<void>;
  remove(trx: Kysely<DB>, seqs: number[]): Promise<void>;
  /** The seqs of versions of the mailbox whose indexed text matches `match` (an FTS5 expression). */
  matchSql(tenantId: string, mailboxId: string, match: string): ReturnType<typeof sql>;
}

export function scopeToken(tenantId: string, mailboxId: string): string {
  return 'm' + crypto.createHash('sha256').update(`${tenantId}/${mailboxId}`).digest('hex').slice(0, 24);
}

const joinAddresses = (list: Array<{ name: string; address: string }>) => list.map((a) => `${a.name} ${a.address}`).join(' ; ');

const WATERMARK_KEY = 'vault.keywordIndex.seq';

async function readWatermark(trx: Kysely<DB>): Promise<number> {
  const row = await trx.selectFrom('server_state').select('value').where('key', '=', WATERMARK_KEY).executeTakeFirst();
  return row ? Number(row.value) : 0;
}

async function writeWatermark(trx: Kysely<DB>, seq: number): Promise<void> {
  const value = String(seq);
  await trx.insertInto('server_state').values({ key: WATERMARK_KEY, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
}

class Fts5Index implements KeywordIndex {
  readonly available = true;
  watermark = readWatermark;
  setWatermark = writeWatermark;
  async add(trx: Kysely<DB>, versions: IndexedVersion[]): Promise<void> {
    for (let i = 0; i < versions.length; i += 200) {
      const rows = versions.slice(i, i + 200).map((v) => {
        const f = messageFacts(v.props);
        return sql`(${v.seq}, ${scopeToken(v.tenantId, v.mailboxId)}, ${f.subject}, ${joinAddresses(f.sender)}, ${joinAddresses(f.participants)}, ${allFacetTokens(f).join(' ')})`;
      });
      await sql`insert into vault_fts (rowid, scope, subject, sender, participants, facets) values ${sql.join(rows)}`.execute(trx);
    }
  }
  async remove(trx: Kysely<DB>, seqs: number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += 500) {
      await sql`delete from vault_fts where rowid in (${sql.join(seqs.slice(i, i + 500))})`.execute(trx);
    }
  }
  matchSql(tenantId: string, mailboxId: string, match: string) {
    return sql`select rowid from vault_fts where vault_fts match ${`scope : ${scopeToken(tenantId, mailboxId)} AND ${match}`}`;
  }
}

class NoIndex implements KeywordIndex {
  readonly available = false;
  async watermark(): Promise<number> {
    return Number.MAX_SAFE_INTEGER;
  }
  async setWatermark(): Promise<void> {}
  async add(): Promise<void> {}
  async remove(): Promise<void> {}
  matchSql(): never {
    throw new Error('no keyword index on this database');
  }
}

export function keywordIndex(dialect: DialectName): KeywordIndex {
  return dialect === 'sqlite' ? new Fts5Index() : new NoIndex();
}
