/**
 * The HTTP pipeline, in order:
 *   rewrite OData key syntax → request-id → authenticate → parse body (JSON / text) → route →
 *   authorize (permission table) → handler → serialize → error envelope.
 * Every response carries request-id and client-request-id; every failure is a Graph error envelope.
 */
import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyContextConfig, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import secureJson from 'secure-json-parse';
import { GraphError, errors, errorDate } from './errors.js';
import { GRAPH_POWERSHELL_APP_ID, PERMISSIONS, REFUSED_TO_POWERSHELL, type PermissionRule } from './permissions.js';
import { TokenError, type Principal } from '../identity/tokens.js';
import type { Core } from '../core.js';

const GRAPH_PREFIX = /^\/(v1\.0|beta)(\/|$)/i;

export interface ServerOptions {
  https?: { key: string | Buffer; cert: string | Buffer };
}

export function buildServer(core: Core, options: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: core.config.logLevel === 'silent' ? false : { level: core.config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
    bodyLimit: core.config.bodyLimit,
    https: options.https ?? null,
    genReqId: () => crypto.randomUUID(),
    rewriteUrl: (req) => (req.url && req.url.includes('(') ? rewriteODataKeys(req.url) : req.url ?? '/'),
    frameworkErrors: (error, req, reply) => {
      sendError(req, reply, errors.badRequest(error.message || 'Bad request.'));
    },
  }) as unknown as FastifyInstance;

  // Declared up front so every request object keeps one shape (properties added later would make V8
  // migrate each request to a new hidden class).
  app.decorateRequest('graph', undefined);
  app.decorateRequest('clientRequestId', '');

  // A shadow router of every route, to tell 405 (path exists, other method) from 400 (unknown segment).
  const shadow = FindMyWay({ caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true });
  const patterns: string[][] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      try {
        shadow.on(m as 'GET', route.url, () => {});
      } catch {
        /* duplicate registration for HEAD/GET pairs */
      }
    }
    patterns.push(route.url.toLowerCase().split('/').filter(Boolean));
  });

  // 1. request-id and client-request-id on every response: stamped by the first hook of every route
  // (below), and by sendError for answers that no route gave (404, 405, framework errors).
  // 2. authentication (Graph and emulator routes), 4. authorization: attached to each route when it is
  // registered, with its config in hand, so no request pays for looking its route options up.
  const authenticateHook = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const url = req.url;
    const finish = (principal: Principal) => {
      const prefer = req.headers.prefer;
      const unknownMembers = prefer !== undefined && /(^|,)\s*include-unknown-enum-members\s*(,|$)/i.test(String(prefer));
      if (unknownMembers) reply.header('Preference-Applied', 'include-unknown-enum-members');
      req.graph = {
        principal,
        tenantId: principal.tenantId,
        version: url.charCodeAt(1) === 98 /* b */ || url.charCodeAt(1) === 66 ? 'beta' : 'v1.0',
        origin: `${req.protocol}://${req.headers.host ?? `${core.config.host}:${core.config.port}`}`,
        includeUnknownEnumMembers: unknownMembers,
      };
      done();
    };
    const cached = core.verifier.cached(req.headers.authorization);
    if (cached) return finish(cached);
    authenticate(core, req).then(finish, done);
  };
  const guardHook = (config: FastifyContextConfig, isGraph: boolean) => (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    if (typeof req.body === 'string' && !config.acceptsText) {
      return done(errors.unsupportedMediaType(`Content type '${req.headers['content-type']}' is not supported; use application/json.`));
    }
    const graph = req.graph;
    if (!graph) return done();
    if (isGraph) {
      if (!config.op) return done(errors.accessDenied('This operation is not available.'));
      try {
        authorize(graph.principal, config.op);
      } catch (error) {
        return done(error as Error);
      }
    }
    if (core.tenants.isCached(graph.tenantId)) return done();
    core.tenants.ensure(graph.tenantId).then(() => done(), done);
  };
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as FastifyContextConfig;
    const isGraph = GRAPH_PREFIX.test(route.url);
    const hooks = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
    const guard = guardHook(config, isGraph);
    type Hook = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
    let first: Hook = (req, reply, done) => {
      stampIds(req, reply);
      done(nulIn(req));
    };
    if (!config.public && (isGraph || route.url.startsWith('/_mailvault'))) {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const bodiless = methods.every((m) => m === 'GET' || m === 'HEAD' || m === 'DELETE');
      // Without a body to wait for, authentication and authorization run in the one first hook.
      first = (req, reply, done) => {
        stampIds(req, reply);
        const nul = nulIn(req);
        if (nul) return done(nul);
        authenticateHook(req, reply, (err) => (err || !bodiless ? done(err) : guard(req, reply, done)));
      };
      route.onRequest = [first, ...hooks(route.onRequest)] as typeof route.onRequest;
      if (bodiless) return;
    } else {
      route.onRequest = [first, ...hooks(route.onRequest)] as typeof route.onRequest;
    }
    route.preHandler = [...hooks(route.preHandler), guard] as typeof route.preHandler;
  });

  // 3. bodies: JSON (prototype keys refused; a bare string is no body any route takes), text for MIME
  // uploads; any other type is a 415
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      const value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
      if (typeof value === 'string') return done(errors.badRequest('The request body must be a JSON object, not a string.'), undefined);
      if (NUL_ESCAPE.test(text)) return done(errors.badRequest(NUL_MESSAGE), undefined);
      done(null, value);
    } catch (error) {
      const poisoned = /prototype|constructor/i.test((error as Error).message);
      done(errors.badRequest(poisoned ? 'The request body contains a forbidden property name (__proto__ or constructor).' : 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, String(body)));

  app.setErrorHandler((error, req, reply) => {
    sendError(req, reply, toGraphError(error, req));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = (req.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
    const allowed = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'].filter((m) => m !== req.method && shadow.find(m as 'GET', path));
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      return sendError(req, reply, errors.methodNotAllowed(`The HTTP method '${req.method}' is not allowed for this resource.`));
    }
    const segments = path.split('/').filter(Boolean);
    let candidates = patterns;
    let unknown = segments[segments.length - 1] ?? '';
    for (let i = 0; i < segments.length; i++) {
      const seg = decodeSafe(segments[i]).toLowerCase();
      const next = candidates.filter((p) => p.length > i && (p[i] === seg || p[i].startsWith(':') || p[i] === '*'));
      if (next.length === 0) {
        unknown = decodeSafe(segments[i]);
        break;
      }
      candidates = next;
    }
    return sendError(req, reply, errors.badRequest(`Resource not found for the segment '${unknown}'.`));
  });

  return app;
}

/**
 * U+0000 is refused wherever a client can send it (the URL, a JSON string): no id or value holds one,
 * and PostgreSQL cannot store it in text, so it would otherwise get as far as the database.
 */
const NUL_MESSAGE = 'The request contains a NUL character (U+0000), which no identifier or value may hold.';
/** `\u0000` as a JSON escape: preceded by an even number of backslashes (`\\u0000` is a backslash and text). */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

function nulIn(req: FastifyRequest): Error | undefined {
  const url = req.url;
  return url.includes('%00') || url.includes('\0') ? errors.badRequest(NUL_MESSAGE) : undefined;
}

function stampIds(req: FastifyRequest, reply: FastifyReply): void {
  const client = req.headers['client-request-id'];
  req.clientRequestId = typeof client === 'string' && client.length > 0 && client.length <= 200 ? client : req.id;
  reply.header('request-id', req.id);
  reply.header('client-request-id', req.clientRequestId);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `/set('id')` and `/set(id)` → `/set/id`, as OData clients address entities by key. */
export function rewriteODataKeys(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rest = q < 0 ? '' : url.slice(q);
  const rewritten = path.replace(/\/([A-Za-z][\w.]*)\((?:'|%27)([^'/()%]*(?:%(?!27)[0-9A-Fa-f]{2}[^'/()%]*)*)(?:'|%27)\)/g, '/$1/$2');
  return rewritten + rest;
}

async function authenticate(core: Core, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  if (header === undefined && core.config.allowAnonymous) return core.anonymousPrincipal();
  if (typeof header !== 'string' || header.length === 0) {
    throw errors.unauthenticated('Access token is empty.', { headers: { 'WWW-Authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' } });
  }
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw errors.unauthenticated('Access token validation failure: the Authorization header must be Bearer <token>.', { headers: { 'WWW-Authenticate': 'Bearer' } });
  try {
    return await core.verifier.verify(m[1], header);
  } catch (error) {
    const message = error instanceof TokenError ? error.message : 'Access token validation failure.';
    throw errors.unauthenticated(message, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  }
}

export function authorize(principal: Principal, op: keyof typeof PERMISSIONS): void {
  if (principal.appId === GRAPH_POWERSHELL_APP_ID && REFUSED_TO_POWERSHELL.has(op)) throw errors.forbidden('Method not allowed for known allowed listed internal apps.');
  const rule: PermissionRule = PERMISSIONS[op];
  const kind = principal.kind === 'delegated' ? 'D' : 'A';
  const kindName = principal.kind === 'delegated' ? 'delegated' : 'application';
  if (!rule.kinds.includes(kind)) {
    throw errors.accessDenied(`This operation is not supported with ${kindName} permissions; it needs ${rule.kinds === 'D' ? 'a delegated' : 'an application'} token with ${rule.least}.`);
  }
  if (principal.permissions.has(rule.least) || rule.higher.some((p) => principal.permissions.has(p))) return;
  const accepted = [rule.least, ...rule.higher].join(', ');
  throw errors.accessDenied(`Missing permission: this operation requires the ${kindName} permission ${rule.least}${rule.higher.length ? ` (or one of: ${accepted})` : ''}.`);
}

function toGraphError(error: unknown, req: FastifyRequest): GraphError {
  if (error instanceof GraphError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (e.validation) return errors.badRequest(e.message ?? 'Invalid request.');
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge('The request body is larger than the allowed limit.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? errors.unsupportedMediaType(`Content type '${req.headers['content-type'] ?? ''}' is not supported; use application/json.`)
        : errors.badRequest('Invalid Content-Length.');
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new GraphError(e.statusCode, e.statusCode === 400 ? 'BadRequest' : 'invalidRequest', e.message ?? 'Invalid request.');
  }
  req.log.error({ err: error }, 'unhandled error');
  return errors.generalException('An unexpected error occurred while processing the request.');
}

export function sendError(req: FastifyRequest, reply: FastifyReply, error: GraphError): FastifyReply {
  const requestId = req.id;
  if (!reply.hasHeader('request-id')) stampIds(req, reply);
  for (const [k, v] of Object.entries(error.extra.headers ?? {})) reply.header(k, v);
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.extra.target !== undefined) body.target = error.extra.target;
  if (error.extra.details !== undefined) body.details = error.extra.details;
  body.innerError = { date: errorDate(new Date()), 'request-id': requestId, 'client-request-id': req.clientRequestId ?? requestId };
  return reply.code(error.status).type('application/json').send({ error: body });
}
