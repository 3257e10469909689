/**
 * The HTTP pipeline, in order:
 *   rewrite OData key syntax → request-id → authenticate → parse body (JSON / text) → route →
 *   authorize (permission table) → handler → serialize → error envelope.
 * Every response carries request-id and client-request-id; every failure is a Graph error envelope.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyContextConfig, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import secureJson from 'secure-json-parse';
import { GraphError, errors } from '../errors.js';
import { GRAPH_POWERSHELL_APP_ID, PERMISSIONS, REFUSED_TO_POWERSHELL, type PermissionRule } from './permissions.js';
import { TokenError, type Principal } from '../identity/tokens.js';
import { tenantNotFound } from '../backup/tenants.js';
import type { Core } from '../core.js';
import { hostPolicy } from './hosts.js';
import { DatabaseUnavailable, RETRY_AFTER_SECONDS } from '../store/outage.js';

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
    // A request without Host reaches the pipeline, which refuses it with a Graph envelope (Node's own 400 has no body).
    ...((options.https ? { https: { ...options.https, requireHostHeader: false } } : { http: { requireHostHeader: false } }) as object),
    genReqId: () => crypto.randomUUID(),
    rewriteUrl: (req) => (req.url && req.url.includes('(') ? rewriteODataKeys(req.url) : req.url ?? '/'),
    frameworkErrors: (error, req, reply) => {
      sendError(req, reply, errors.badRequest(error.message || 'Bad request.'));
    },
    // What Node's HTTP parser refuses before a request exists (oversized headers, a malformed request
    // line or header, an ambiguous length) is answered with a Graph envelope too.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const graphError =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? errors.headersTooLarge('The request line or headers are larger than the server accepts (16 KB).')
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? errors.requestTimeout('The request did not arrive in time.')
            : errors.badRequest('The request is not valid HTTP/1.1 and cannot be read.');
      if (socket.writable && !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
        const id = crypto.randomUUID();
        const body = JSON.stringify(errorBody(graphError, id, id));
        socket.write(
          `HTTP/1.1 ${graphError.status} ${http.STATUS_CODES[graphError.status]}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nrequest-id: ${id}\r\nclient-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
  }) as unknown as FastifyInstance;
  const hosts = hostPolicy(core.config);

  // Declared up front so every request object keeps one shape (properties added later would make V8
  // migrate each request to a new hidden class).
  app.decorateRequest('graph', undefined);
  app.decorateRequest('clientRequestId', '');

  /** Why a request is refused before anything else (a Host this server is not, a NUL); arms the body's timeout. */
  const refused = (req: FastifyRequest, reply: FastifyReply, bodiless: boolean): Error | undefined => {
    if (!hosts.accepts(req.headers.host, req.raw.httpVersion)) return errors.badRequest(`The Host header '${req.headers.host ?? ''}' does not name this server.`);
    const nul = nulIn(req);
    if (nul) return nul;
    if (!bodiless) armBodyTimeout(req, reply, core.config.bodyTimeoutMs);
    return undefined;
  };

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
        origin: hosts.origin(req),
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
      if (!graph.principal.graph) return done(errors.unauthenticated('Access token validation failure. Invalid audience.', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }));
      if (!config.op) return done(errors.accessDenied('This operation is not available.'));
      try {
        authorize(graph.principal, config.op);
      } catch (error) {
        return done(error as Error);
      }
    }
    if (!graph.principal.graph || core.tenants.isCached(graph.tenantId)) return done();
    core.tenants.exists(graph.tenantId).then((exists) => done(exists ? undefined : tenantNotFound(graph.tenantId)), done);
  };
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as FastifyContextConfig;
    const isGraph = GRAPH_PREFIX.test(route.url);
    const hooks = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
    const guard = guardHook(config, isGraph);
    type Hook = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const bodiless = methods.every((m) => m === 'GET' || m === 'HEAD' || m === 'DELETE');
    let first: Hook = (req, reply, done) => {
      stampIds(req, reply);
      done(refused(req, reply, bodiless));
    };
    if (!config.public && (isGraph || route.url.startsWith('/_mailvault'))) {
      // Without a body to wait for, authentication and authorization run in the one first hook.
      first = (req, reply, done) => {
        stampIds(req, reply);
        const refusal = refused(req, reply, bodiless);
        if (refusal) return done(refusal);
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
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (req, body, done) => {
    const charset = foreignCharset(req);
    if (charset) return done(charset, undefined);
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
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (req, body, done) => done(foreignCharset(req) ?? null, String(body)));

  app.setErrorHandler((error, req, reply) => {
    sendError(req, reply, toGraphError(error, req));
  });

  app.setNotFoundHandler((req, reply) => {
    if (!hosts.accepts(req.headers.host, req.raw.httpVersion)) return sendError(req, reply, errors.badRequest(`The Host header '${req.headers.host ?? ''}' does not name this server.`));
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
  if (error instanceof DatabaseUnavailable) {
    return errors.serviceNotAvailable(`The service's database is unavailable; retry after ${RETRY_AFTER_SECONDS} seconds.`, {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }
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
  if (!reply.hasHeader('request-id')) stampIds(req, reply);
  for (const [k, v] of Object.entries(error.extra.headers ?? {})) reply.header(k, v);
  // Refused before its body was read: the connection closes after the answer instead of waiting for the rest.
  if (!req.raw.complete) reply.header('Connection', 'close');
  return reply.code(error.status).type('application/json').send(errorBody(error, req.id, req.clientRequestId || req.id));
}

/** The Graph error envelope. What a client sent is echoed at most ECHO_MAX characters long. */
function errorBody(error: GraphError, requestId: string, clientRequestId: string): { error: Record<string, unknown> } {
  const body: Record<string, unknown> = { code: error.code, message: shorten(error.message) };
  if (error.extra.target !== undefined) body.target = shorten(error.extra.target);
  if (error.extra.details !== undefined) body.details = error.extra.details.map((d) => ({ ...d, message: shorten(d.message) }));
  body.innerError = { date: errorDate(new Date()), 'request-id': requestId, 'client-request-id': clientRequestId };
  return { error: body };
}

const ECHO_MAX = 200;

/** A message with every quoted value longer than ECHO_MAX cut short, and the whole at most 4 KB. */
function shorten(text: string): string {
  if (text.length <= ECHO_MAX) return text;
  const cut = text.replace(/'([^']{201,})'/g, (_m, v: string) => `'${v.slice(0, ECHO_MAX)}…'`);
  return cut.length <= 4096 ? cut : cut.slice(0, 4096) + '…';
}

/** A 415 for a body declared in a character set other than UTF-8 (or its subset US-ASCII), which is all the server reads. */
function foreignCharset(req: FastifyRequest): GraphError | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(req.headers['content-type'] ?? ''));
  if (!m || /^(utf-?8|us-ascii)$/i.test(m[1])) return undefined;
  return errors.unsupportedMediaType(`The character set '${m[1]}' is not supported; send the body in UTF-8.`);
}

/**
 * A request whose body stops arriving is answered 408 and its connection closed `ms` after the last
 * byte came: a client that declares a length and sends less would otherwise hold its connection open.
 */
function armBodyTimeout(req: FastifyRequest, reply: FastifyReply, ms: number): void {
  const raw = req.raw;
  if (raw.complete) return;
  // A listener on the request (not the socket) keeps Node's own handler from destroying the socket
  // before the 408 is written.
  const onTimeout = () => {
    disarm();
    const res = reply.raw;
    if (!res.headersSent) {
      const body = JSON.stringify(errorBody(errors.requestTimeout(`The request body stopped arriving: nothing came for ${ms / 1000} s.`), req.id, req.clientRequestId || req.id));
      res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close', 'request-id': req.id, 'client-request-id': req.clientRequestId || req.id });
      res.end(body);
    }
    raw.socket.destroySoon();
  };
  const disarm = () => {
    raw.socket?.setTimeout(0);
    raw.removeListener('timeout', onTimeout);
  };
  raw.setTimeout(ms, onTimeout);
  raw.once('end', disarm);
  raw.once('close', disarm);
}

/** `innerError.date` is ISO without fraction and without zone, as Graph sends it. */
function errorDate(d: Date): string {
  return d.toISOString().slice(0, 19);
}
