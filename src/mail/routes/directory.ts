/** `/users` and `/groups` (with members) — Microsoft Graph's directory slice. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core.js';
import { errors } from '../../errors.js';
import { graphOf, sendCollection, sendEntity } from '../../http/context.js';
import { normalizeQuery, orderSql, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../http/odata.js';
import * as dir from '../directory.js';
import type { DirectoryUser } from '../model.js';
import { GROUP_SELECTABLE, USER_SELECTABLE, groupWire, objectBody, userWire } from './common.js';

const USERS: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    displayName: { column: 'display_name', type: 'string' },
    userPrincipalName: { column: 'user_principal_name', type: 'string' },
    mail: { column: 'mail', type: 'string' },
    givenName: { column: 'given_name', type: 'string' },
    surname: { column: 'surname', type: 'string' },
    jobTitle: { column: 'job_title', type: 'string' },
    accountEnabled: { column: 'account_enabled', type: 'boolean' },
    createdDateTime: { column: 'created_at', type: 'date', precision: 'seconds' },
  },
  selectable: USER_SELECTABLE,
  defaultOrder: [['display_name', 'asc']],
  key: 'id',
  defaultTop: 100,
  maxTop: 999,
};

const GROUPS: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    displayName: { column: 'display_name', type: 'string' },
    mail: { column: 'mail', type: 'string' },
    mailNickname: { column: 'mail_nickname', type: 'string' },
    mailEnabled: { column: 'mail_enabled', type: 'boolean' },
    securityEnabled: { column: 'security_enabled', type: 'boolean' },
    createdDateTime: { column: 'created_at', type: 'date', precision: 'seconds' },
  },
  selectable: GROUP_SELECTABLE,
  defaultOrder: [['display_name', 'asc']],
  key: 'id',
  defaultTop: 100,
  maxTop: 999,
};

const USER_WRITABLE = ['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName', 'passwordProfile', 'givenName', 'surname', 'jobTitle', 'mail', 'businessPhones', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'usageLocation', 'department', 'companyName', 'id'];
const EXTRA_KEYS = ['mailNickname', 'businessPhones', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'usageLocation', 'department', 'companyName'];
const GROUP_WRITABLE = ['displayName', 'description', 'mailEnabled', 'mailNickname', 'securityEnabled', 'groupTypes', 'visibility', 'members@odata.bind', 'owners@odata.bind', 'id'];

function checkKeys(body: Record<string, unknown>, allowed: string[], type: string): void {
  for (const k of Object.keys(body)) {
    if (k.startsWith('@odata.') || allowed.includes(k)) continue;
    throw errors.requestBadRequest(`Property '${k}' does not exist as a declared property or extension property on type 'microsoft.graph.${type}'.`);
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string';

function requireString(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (v === undefined || v === null) throw errors.requestBadRequest(`Property '${name}' is required.`);
  if (!isStr(v) || v.trim() === '') throw errors.requestBadRequest(`Invalid value specified for property '${name}' of resource 'User'.`);
  return v;
}

function validUpn(upn: string): boolean {
  return /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(upn) && upn.length <= 113;
}

/** The id a client chose for a new user or group (a GUID), if any. */
function objectId(body: Record<string, unknown>, resource: 'User' | 'Group'): string | undefined {
  if (body.id === undefined) return undefined;
  if (!isStr(body.id) || !dir.isGuid(body.id)) throw errors.requestBadRequest(`Invalid value specified for property 'id' of resource '${resource}'.`);
  return body.id;
}

/** `mail` of a user in a request: an address, null to clear it, undefined when absent. */
function mailValue(body: Record<string, unknown>): string | null | undefined {
  const v = body.mail;
  if (v === undefined || v === null) return v;
  if (!isStr(v) || !validUpn(v)) throw errors.requestBadRequest(`Invalid value specified for property 'mail' of resource 'User'.`);
  return v;
}

function refuseTakenAddress(): never {
  throw errors.requestBadRequest('Another object with the same value for property proxyAddresses already exists.');
}

function refuseTakenId(): never {
  throw errors.requestBadRequest('Another object with the same value for property id already exists.');
}

function userNotFound(key: string): never {
  throw errors.requestResourceNotFound(`Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
}

async function liveUser(core: Core, req: FastifyRequest): Promise<DirectoryUser> {
  const key = (req.params as { userId: string }).userId;
  const user = await dir.findUser(core.store.db, graphOf(req).tenantId, key);
  if (!user || user.deleted) userNotFound(key);
  return user;
}

async function liveGroup(core: Core, req: FastifyRequest) {
  const key = (req.params as { groupId: string }).groupId;
  const group = await dir.findGroup(core.store.db, graphOf(req).tenantId, key);
  if (!group) userNotFound(key);
  return group;
}

/** The object id in `{"@odata.id": ".../directoryObjects/{id}"}` (also `/users/{id}`, `('{id}')`). */
function refId(body: Record<string, unknown>): string {
  const ref = body['@odata.id'];
  if (!isStr(ref)) throw errors.requestBadRequest(`The request body must be {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.`);
  const m = /(?:directoryObjects|users|groups)(?:\/|\(')([^/()']+)'?\)?\/?$/.exec(ref);
  const id = m ? decodeOrUndefined(m[1]) : undefined;
  if (id === undefined) throw errors.requestBadRequest(`Invalid object identifier '${ref}'.`);
  return id.toLowerCase();
}

function decodeOrUndefined(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export function directoryRoutes(app: FastifyInstance, core: Core): void {
  const db = core.store.db;

  app.get('/users', { config: { op: 'users.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, USERS);
    let base = db.selectFrom('users').where('tenant_id', '=', g.tenantId).where('deleted_at', 'is', null);
    if (q.where) base = base.where(q.where);
    const rows = await base.selectAll().orderBy(orderSql(q.orderBy)).limit(q.top + 1).offset(q.skip).execute();
    const count = q.count ? Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : undefined;
    return sendCollection(reply, req, g, {
      type: 'user',
      items: rows.slice(0, q.top).map((r) => userWire(dir.userFromRow(r), q.select)),
      context: 'users',
      query: q,
      hasMore: rows.length > q.top,
      count,
    });
  });

  app.get('/users/:userId', { config: { op: 'users.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select !== undefined ? parseSelect(q.$select, USER_SELECTABLE) : undefined;
    const user = await liveUser(core, req);
    return sendEntity(reply, g, { type: 'user', value: userWire(user, select), context: 'users/$entity', select });
  });

  app.post('/users', { config: { op: 'users.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = objectBody(req);
    checkKeys(body, USER_WRITABLE, 'user');
    const displayName = requireString(body, 'displayName');
    const upn = requireString(body, 'userPrincipalName');
    const mailNickname = requireString(body, 'mailNickname');
    if (typeof body.accountEnabled !== 'boolean') throw errors.requestBadRequest(`Property 'accountEnabled' is required and must be a boolean.`);
    const pp = body.passwordProfile as { password?: unknown } | undefined;
    if (!pp || typeof pp !== 'object' || !isStr(pp.password) || pp.password.length < 8) {
      throw errors.requestBadRequest('A password profile with a password of at least 8 characters is required.');
    }
    if (!validUpn(upn)) throw errors.requestBadRequest(`Property userPrincipalName has an invalid value: '${upn}'.`);
    const id = objectId(body, 'User');
    const mail = mailValue(body);
    const input = userInput(body);
    let user;
    try {
      user = await core.store.write((trx) =>
        dir.createUser(core, trx, g.tenantId, {
          id,
          userPrincipalName: upn,
          displayName,
          accountEnabled: body.accountEnabled as boolean,
          mail: mail ?? undefined,
          givenName: input.given_name,
          surname: input.surname,
          jobTitle: input.job_title,
          extra: { ...input.extra, mailNickname },
        }),
      );
    } catch (e) {
      if (e instanceof dir.IdTakenError) refuseTakenId();
      if (e instanceof dir.AddressTakenError) refuseTakenAddress();
      if (e instanceof dir.UpnTakenError || /unique|constraint/i.test((e as Error).message)) {
        throw errors.requestBadRequest('Another object with the same value for property userPrincipalName already exists.');
      }
      throw e;
    }
    return sendEntity(reply, g, { type: 'user', value: userWire(user, new Set(USER_SELECTABLE)), context: 'users/$entity', status: 201, location: `users/${user.id}` });
  });

  app.patch('/users/:userId', { config: { op: 'users.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = objectBody(req);
    checkKeys(body, USER_WRITABLE.filter((k) => k !== 'id' && k !== 'passwordProfile').concat(['passwordProfile']), 'user');
    const user = await liveUser(core, req);
    const input = userInput(body);
    const patch: Record<string, unknown> = {};
    if (body.displayName !== undefined) patch.display_name = requireString(body, 'displayName');
    if (body.accountEnabled !== undefined) {
      if (typeof body.accountEnabled !== 'boolean') throw errors.requestBadRequest(`Invalid value specified for property 'accountEnabled' of resource 'User'.`);
      patch.account_enabled = body.accountEnabled ? 1 : 0;
    }
    if (body.userPrincipalName !== undefined) {
      const upn = requireString(body, 'userPrincipalName');
      if (!validUpn(upn)) throw errors.requestBadRequest(`Property userPrincipalName has an invalid value: '${upn}'.`);
      patch.user_principal_name = upn;
      patch.upn_key = upn.toLowerCase();
    }
    const mail = mailValue(body);
    if (mail !== undefined) {
      patch.mail = mail;
      patch.mail_key = mail?.toLowerCase() ?? null;
    }
    for (const k of ['given_name', 'surname', 'job_title'] as const) if (input[k] !== undefined) patch[k] = input[k];
    if (Object.keys(input.extra).length > 0) patch.props = JSON.stringify({ ...user.extra, ...input.extra });
    try {
      if (Object.keys(patch).length > 0) await core.store.write((trx) => dir.updateUser(trx, g.tenantId, user.id, patch));
    } catch (e) {
      if (e instanceof dir.AddressTakenError) refuseTakenAddress();
      if (/unique|constraint/i.test((e as Error).message)) throw errors.requestBadRequest('Another object with the same value for property userPrincipalName already exists.');
      throw e;
    }
    return reply.code(204).send();
  });

  app.delete('/users/:userId', { config: { op: 'users.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const user = await liveUser(core, req);
    // Deleted meanwhile by another request: that one answered 204.
    if (!(await core.store.write((trx) => dir.deleteUser(core, trx, g.tenantId, user.id)))) userNotFound((req.params as { userId: string }).userId);
    return reply.code(204).send();
  });

  app.get('/groups', { config: { op: 'groups.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, GROUPS);
    let base = db.selectFrom('groups').where('tenant_id', '=', g.tenantId).where('deleted_at', 'is', null);
    if (q.where) base = base.where(q.where);
    const rows = await base.selectAll().orderBy(orderSql(q.orderBy)).limit(q.top + 1).offset(q.skip).execute();
    const count = q.count ? Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : undefined;
    return sendCollection(reply, req, g, { type: 'group', items: rows.slice(0, q.top).map((r) => groupWire(dir.groupFromRow(r))), context: 'groups', query: q, hasMore: rows.length > q.top, count });
  });

  app.get('/groups/:groupId', { config: { op: 'groups.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select !== undefined ? parseSelect(q.$select, GROUP_SELECTABLE) : undefined;
    const group = await liveGroup(core, req);
    return sendEntity(reply, g, { type: 'group', value: groupWire(group), context: 'groups/$entity', select });
  });

  app.post('/groups', { config: { op: 'groups.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = objectBody(req);
    checkKeys(body, GROUP_WRITABLE, 'group');
    const displayName = requireString(body, 'displayName');
    const mailNickname = requireString(body, 'mailNickname');
    for (const k of ['mailEnabled', 'securityEnabled']) {
      if (typeof body[k] !== 'boolean') throw errors.requestBadRequest(`Property '${k}' is required and must be a boolean.`);
    }
    const groupTypes = body.groupTypes ?? [];
    if (!Array.isArray(groupTypes) || groupTypes.some((t) => !isStr(t))) throw errors.requestBadRequest(`Invalid value specified for property 'groupTypes' of resource 'Group'.`);
    if (body.description !== undefined && body.description !== null && !isStr(body.description)) throw errors.requestBadRequest(`Invalid value specified for property 'description' of resource 'Group'.`);
    const binds = body['members@odata.bind'] ?? [];
    if (!Array.isArray(binds)) throw errors.requestBadRequest(`'members@odata.bind' must be a collection of URLs.`);
    const memberIds = binds.map((b) => refId({ '@odata.id': b }));
    for (const id of memberIds) {
      const u = await dir.findUser(db, g.tenantId, id);
      if ((!u || u.deleted) && !(await dir.findGroup(db, g.tenantId, id))) userNotFound(id);
    }
    const id = objectId(body, 'Group');
    const domain = await tenantDomain(core, g.tenantId);
    const group = await core.store.write(async (trx) => {
      const created = await dir.createGroup(core, trx, g.tenantId, {
        id,
        displayName,
        description: (body.description as string | null | undefined) ?? null,
        mailNickname,
        mailEnabled: body.mailEnabled as boolean,
        securityEnabled: body.securityEnabled as boolean,
        groupTypes: groupTypes as string[],
        mail: body.mailEnabled ? `${mailNickname}@${domain}` : null,
      });
      await dir.addMembers(core, trx, g.tenantId, created.id, memberIds);
      return created;
    }).catch((e) => {
      if (e instanceof dir.IdTakenError) refuseTakenId();
      throw e;
    });
    return sendEntity(reply, g, { type: 'group', value: groupWire(group), context: 'groups/$entity', status: 201, location: `groups/${group.id}` });
  });

  app.patch('/groups/:groupId', { config: { op: 'groups.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = objectBody(req);
    checkKeys(body, ['displayName', 'description', 'mailNickname', 'visibility'], 'group');
    const group = await liveGroup(core, req);
    const patch: Record<string, unknown> = {};
    if (body.displayName !== undefined) patch.display_name = requireString(body, 'displayName');
    if (body.mailNickname !== undefined) patch.mail_nickname = requireString(body, 'mailNickname');
    if (body.description !== undefined) {
      if (body.description !== null && !isStr(body.description)) throw errors.requestBadRequest(`Invalid value specified for property 'description' of resource 'Group'.`);
      patch.description = body.description;
    }
    if (Object.keys(patch).length > 0) {
      await core.store.write((trx) => trx.updateTable('groups').set(patch).where('tenant_id', '=', g.tenantId).where('id', '=', group.id).execute());
    }
    return reply.code(204).send();
  });

  app.delete('/groups/:groupId', { config: { op: 'groups.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const group = await liveGroup(core, req);
    const now = core.clock.now().toISOString();
    await core.store.write(async (trx) => {
      await trx.updateTable('groups').set({ deleted_at: now }).where('tenant_id', '=', g.tenantId).where('id', '=', group.id).execute();
      await trx.deleteFrom('group_members').where('tenant_id', '=', g.tenantId).where('group_id', '=', group.id).execute();
    });
    return reply.code(204).send();
  });

  app.get('/groups/:groupId/members', { config: { op: 'groups.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const group = await liveGroup(core, req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, { ...USERS, fields: {}, defaultOrder: [['m.added_at', 'asc']], key: 'm.member_id' });
    const rows = await db
      .selectFrom('group_members as m')
      .leftJoin('users as u', (j) => j.onRef('u.tenant_id', '=', 'm.tenant_id').onRef('u.id', '=', 'm.member_id').on('u.deleted_at', 'is', null))
      .leftJoin('groups as gr', (j) => j.onRef('gr.tenant_id', '=', 'm.tenant_id').onRef('gr.id', '=', 'm.member_id').on('gr.deleted_at', 'is', null))
      .select(['m.member_id', 'u.id as user_id', 'gr.id as group_id'])
      .where('m.tenant_id', '=', g.tenantId)
      .where('m.group_id', '=', group.id)
      .where((eb) => eb.or([eb('u.id', 'is not', null), eb('gr.id', 'is not', null)]))
      .orderBy(orderSql(q.orderBy))
      .limit(q.top + 1)
      .offset(q.skip)
      .execute();
    const items: Array<Record<string, unknown>> = [];
    for (const r of rows.slice(0, q.top)) {
      if (r.user_id) {
        const u = await dir.findUser(db, g.tenantId, r.user_id);
        items.push({ '@odata.type': '#microsoft.graph.user', ...userWire(u!, q.select) });
      } else {
        const gr = await dir.findGroup(db, g.tenantId, r.group_id!);
        items.push({ '@odata.type': '#microsoft.graph.group', ...groupWire(gr!) });
      }
    }
    return sendCollection(reply, req, g, { type: 'directoryObject', items, context: 'directoryObjects', query: q, hasMore: rows.length > q.top });
  });

  app.post('/groups/:groupId/members/$ref', { config: { op: 'groupMembers.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const group = await liveGroup(core, req);
    const id = refId(objectBody(req));
    const u = await dir.findUser(db, g.tenantId, id);
    const isUser = !!u && !u.deleted;
    if (!isUser && (!(await dir.findGroup(db, g.tenantId, id)) || id === group.id)) userNotFound(id);
    // Decided in the write, so of two concurrent adds one is 204 and the other 400.
    if ((await core.store.write((trx) => dir.addMembers(core, trx, g.tenantId, group.id, [id]))) === 0) {
      throw errors.requestBadRequest(`One or more added object references already exist for the following modified properties: 'members'.`);
    }
    return reply.code(204).send();
  });

  app.delete('/groups/:groupId/members/:memberId/$ref', { config: { op: 'groupMembers.write' } }, async (req, reply) => {
    const g = graphOf(req);
    const group = await liveGroup(core, req);
    const memberId = (req.params as { memberId: string }).memberId.toLowerCase();
    const removed = await core.store.write((trx) =>
      trx.deleteFrom('group_members').where('tenant_id', '=', g.tenantId).where('group_id', '=', group.id).where('member_id', '=', memberId).executeTakeFirst(),
    );
    if (Number(removed.numDeletedRows) === 0) userNotFound(memberId);
    return reply.code(204).send();
  });
}

interface UserInput {
  given_name?: string | null;
  surname?: string | null;
  job_title?: string | null;
  extra: Record<string, unknown>;
}

function userInput(body: Record<string, unknown>): UserInput {
  const out: UserInput = { extra: {} };
  const opt = (k: string): string | null | undefined => {
    const v = body[k];
    if (v === undefined) return undefined;
    if (v !== null && !isStr(v)) throw errors.requestBadRequest(`Invalid value specified for property '${k}' of resource 'User'.`);
    return v;
  };
  out.given_name = opt('givenName');
  out.surname = opt('surname');
  out.job_title = opt('jobTitle');
  for (const k of EXTRA_KEYS) {
    if (body[k] === undefined) continue;
    if (k === 'businessPhones') {
      if (!Array.isArray(body[k]) || (body[k] as unknown[]).some((x) => !isStr(x))) throw errors.requestBadRequest(`Invalid value specified for property 'businessPhones' of resource 'User'.`);
      out.extra[k] = body[k];
    } else out.extra[k] = opt(k);
  }
  return out;
}

/** The domain of the tenant's users (for group mail addresses): the most common UPN suffix. */
async function tenantDomain(core: Core, tenantId: string): Promise<string> {
  const rows = await core.store.db.selectFrom('users').select('upn_key').where('tenant_id', '=', tenantId).limit(1000).execute();
  const counts = new Map<string, number>();
  for (const r of rows) {
    const d = r.upn_key.slice(r.upn_key.indexOf('@') + 1);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'contoso.onmicrosoft.com';
}
