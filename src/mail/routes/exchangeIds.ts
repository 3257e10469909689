/** `POST /users/{id}/translateExchangeIds` (and `/me/...`): an item's id in another of Exchange's formats (exchangeIds.ts). */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core.js';
import { errors } from '../../errors.js';
import { contextUrl, graphOf } from '../../http/context.js';
import { chunks } from '../items.js';
import { EXCHANGE_ID_FORMATS, formatId, restIdCandidates, type ExchangeIdFormat } from '../exchangeIds.js';
import { isPlausibleId } from '../ids.js';
import { mailboxRoute, objectBody, type MailboxRef } from './common.js';

/** Graph's limit on `inputIds`. */
const MAX_INPUT_IDS = 1000;

function idFormat(body: Record<string, unknown>, name: 'sourceIdType' | 'targetIdType'): ExchangeIdFormat {
  const v = body[name];
  if (v === undefined || v === null) throw errors.badRequest(`The parameter '${name}' is required.`);
  const format = typeof v === 'string' ? EXCHANGE_ID_FORMATS.find((f) => f.toLowerCase() === v.toLowerCase()) : undefined;
  if (!format) throw errors.badRequest(`Invalid value ${JSON.stringify(v)} for the parameter '${name}'; use one of: ${EXCHANGE_ID_FORMATS.join(', ')}.`);
  return format;
}

/** Which of the ids name a message or folder of the mailbox. */
async function existingIds(core: Core, mb: MailboxRef, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const db = core.store.db;
  for (const part of chunks([...new Set(ids)], 500)) {
    for (const table of ['messages', 'folders'] as const) {
      const rows = await db.selectFrom(table).select('id').where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId).where('id', 'in', part).execute();
      for (const r of rows) found.add(r.id);
    }
  }
  return found;
}

export function exchangeIdRoutes(app: FastifyInstance, core: Core): void {
  mailboxRoute(app, 'POST', '/translateExchangeIds', 'mail.translateIds', async (req, reply, mailbox) => {
    const g = graphOf(req);
    const mb = await mailbox();
    const body = objectBody(req);
    for (const k of Object.keys(body)) {
      if (!k.startsWith('@odata.') && k !== 'inputIds' && k !== 'sourceIdType' && k !== 'targetIdType') throw errors.badRequest(`The parameter '${k}' is not allowed for the translateExchangeIds action.`);
    }
    const inputIds = body.inputIds;
    if (!Array.isArray(inputIds) || inputIds.some((id) => typeof id !== 'string')) throw errors.badRequest(`The parameter 'inputIds' is required and must be a collection of strings.`);
    if (inputIds.length > MAX_INPUT_IDS) throw errors.badRequest(`The parameter 'inputIds' has ${inputIds.length} ids; at most ${MAX_INPUT_IDS} are allowed.`);
    const source = idFormat(body, 'sourceIdType');
    const target = idFormat(body, 'targetIdType');
    const candidates = (inputIds as string[]).map((id) => restIdCandidates(id, source).filter(isPlausibleId));
    const existing = await existingIds(core, mb, candidates.flat());
    const value: Array<{ sourceId: string; targetId: string }> = [];
    inputIds.forEach((sourceId: string, i) => {
      const id = candidates[i].find((c) => existing.has(c));
      if (id !== undefined) value.push({ sourceId, targetId: formatId(id, target) });
    });
    return reply.code(200).send({ '@odata.context': contextUrl(g, 'Collection(microsoft.graph.convertIdResult)'), value });
  }, core);
}
