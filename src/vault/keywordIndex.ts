/**
 * The keyword index over captured message versions: on SQLite an FTS5 table (`vault_fts`, contentless,
 * rowid = vault_versions.seq) whose `scope` column holds one token per mailbox so a match never leaves
 * the mailbox; on PostgreSQL there is no index yet and granular search scans the state at the point.
 * This file is the only place that knows the difference.
 */
import crypto from 'node:crypto';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import type { DialectName } from '../store/dialect.js';
import { allFacetTokens, messageFacts, type MessageFacts } from './facts.js';
import { versionPropsSql } from './latest.js';

export interface IndexedVersion {
  seq: number;
  tenantId: string;
  mailboxId: string;
  facts: MessageFacts;
}

/** Versions appended after a seq, up to a limit: the message upserts among them and the last seq looked at. */
export interface PendingVersions {
  versions: IndexedVersion[];
  last: number | undefined;
  /** How many versions were looked at (fewer than the limit: there are no more). */
  looked: number;
}

export interface KeywordIndex {
  /** False when searches must scan. */
  readonly available: boolean;
  /** The versions after `after` that the index has to see (at most `limit` looked at). */
  pending(trx: Kysely<DB>, after: number, limit: number): Promise<PendingVersions>;
  add(trx: Kysely<DB>, versions: IndexedVersion[]): Promise<void>;
  /** Seq up to which every version has been looked at (kept in server_state). */
  watermark(trx: Kysely<DB>): Promise<number>;
  setWatermark(trx: Kysely<DB>, seq: number): Promise<void>;
  remove(trx: Kysely<DB>, seqs: number[]): Promise<void>;
  /** The seqs of versions of the mailbox whose indexed text matches `match` (an FTS5 expression). */
  matchSql(tenantId: string, mailboxId: string, match: string): ReturnType<typeof sql>;
}

const scopes = new Map<string, string>();

/** One token per mailbox (remembered: every indexed version of a mailbox needs the same one). */
export function scopeToken(tenantId: string, mailboxId: string): string {
  const key = `${tenantId}/${mailboxId}`;
  let token = scopes.get(key);
  if (token === undefined) {
    token = 'm' + crypto.createHash('sha256').update(key).digest('hex').slice(0, 24);
    if (scopes.size >= 10_000) scopes.delete(scopes.keys().next().value as string);
    scopes.set(key, token);
  }
  return token;
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

/** The snapshot fields granular search looks at, in this order (SQLite extracts them; the rest is never parsed). */
const FACT_FIELDS = ['subject', 'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'hasAttachments'] as const;
const FACT_PATHS = FACT_FIELDS.map((f) => `'$.${f}'`).join(', ');

const FTS_COLUMNS = 6;
const FTS_CHUNK = 1000;
const ftsInsert = (rows: number) =>
  `insert into vault_fts (rowid, scope, subject, sender, participants, facets) values ${Array(rows).fill(`(${Array(FTS_COLUMNS).fill('?').join(', ')})`).join(', ')}`;
const FULL_INSERT = ftsInsert(FTS_CHUNK);

class Fts5Index implements KeywordIndex {
  readonly available = true;
  watermark = readWatermark;
  setWatermark = writeWatermark;
  async pending(trx: Kysely<DB>, after: number, limit: number): Promise<PendingVersions> {
    const { rows } = await trx.executeQuery<{ seq: number; tenant_id: string; mailbox_id: string; f: string | null }>(
      CompiledQuery.raw(
        `select seq, tenant_id, mailbox_id,
          case when item_kind = 'message' and op = 'upsert' then json_extract(${versionPropsSql('v')}, ${FACT_PATHS}) end as f
        from vault_versions v where seq > ? order by seq limit ?`,
        [after, limit],
      ),
    );
    const versions: IndexedVersion[] = [];
    for (const r of rows) {
      if (r.f === null) continue;
      const values = JSON.parse(r.f) as unknown[];
      const props: Record<string, unknown> = {};
      for (let i = 0; i < FACT_FIELDS.length; i++) props[FACT_FIELDS[i]] = values[i];
      versions.push({ seq: Number(r.seq), tenantId: r.tenant_id, mailboxId: r.mailbox_id, facts: messageFacts(props) });
    }
    return { versions, last: rows.length === 0 ? undefined : Number(rows[rows.length - 1].seq), looked: rows.length };
  }
  /** One multi-row insert per 1,000 versions, its SQL text built once (the store caches the statement). */
  async add(trx: Kysely<DB>, versions: IndexedVersion[]): Promise<void> {
    for (let i = 0; i < versions.length; i += FTS_CHUNK) {
      const part = versions.slice(i, i + FTS_CHUNK);
      const params: unknown[] = [];
      for (const v of part) {
        const f = v.facts;
        params.push(v.seq, scopeToken(v.tenantId, v.mailboxId), f.subject, joinAddresses(f.sender), joinAddresses(f.participants), allFacetTokens(f).join(' '));
      }
      await trx.executeQuery(CompiledQuery.raw(part.length === FTS_CHUNK ? FULL_INSERT : ftsInsert(part.length), params));
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
  async pending(): Promise<PendingVersions> {
    return { versions: [], last: undefined, looked: 0 };
  }
  async add(): Promise<void> {}
  async remove(): Promise<void> {}
  matchSql(): never {
    throw new Error('no keyword index on this database');
  }
}

export function keywordIndex(dialect: DialectName): KeywordIndex {
  return dialect === 'sqlite' ? new Fts5Index() : new NoIndex();
}
