import crypto from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { SigningKey } from './keys.js';
import { ALL_PERMISSIONS } from '../http/permissions.js';
import { BoundedMap } from '../boundedMap.js';
import { parseIsoDuration } from '../clock.js';

export const GRAPH_AUDIENCES = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'];
export const DEFAULT_APP_ID = '1fec8e78-bce4-4aaf-ab1b-5451cc387264';
export const DEFAULT_APP_NAME = 'Mailvault Developer App';
/** The audience of the emulator administrator's token: no Graph route accepts it. */
export const EMULATOR_AUDIENCE = 'urn:mailvault:emulator';
const EMULATOR_ISSUER = 'urn:mailvault';
/** The longest lifetime a minted token may have unless configured otherwise (MAILVAULT_MAX_TOKEN_LIFETIME). */
export const DEFAULT_MAX_TOKEN_LIFETIME = '24h';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant id in its one canonical form (a GUID in lower case), or undefined if it is not a GUID. */
export function canonicalTenantId(id: unknown): string | undefined {
  return typeof id === 'string' && GUID.test(id.trim()) ? id.trim().toLowerCase() : undefined;
}

export interface MintOptions {
  tenantId: string;
  appId?: string;
  appDisplayName?: string;
  /** Delegated token for this user (oid); application token when absent. */
  userId?: string;
  userName?: string;
  roles?: string[];
  scopes?: string[];
  /** ISO 8601 duration (PT1H) or shorthand (1h, 30m, 2d); at most `maxLifetime`. */
  expires?: string;
  /** The longest lifetime allowed (same syntax); DEFAULT_MAX_TOKEN_LIFETIME when absent. */
  maxLifetime?: string;
}

/** The identity a verified token stands for. */
export interface Principal {
  tenantId: string;
  kind: 'application' | 'delegated';
  appId: string;
  appDisplayName: string | null;
  userId: string | null;
  userName: string | null;
  /** roles (application) or scp (delegated) */
  permissions: Set<string>;
  /** A Graph token (audience Microsoft Graph): the only kind Graph routes accept. */
  graph: boolean;
  /** May use the emulator's server-wide controls (/_mailvault: clock, tenants, tokens for any tenant, vault GC). */
  emulatorAdmin: boolean;
}

/** A lifetime in seconds: at least one second and at most `max` (both in the same syntax), else an error saying why. */
export function parseExpiry(text: string | undefined, max: string = DEFAULT_MAX_TOKEN_LIFETIME): number {
  const seconds = durationSeconds(text ?? '1h');
  const limit = durationSeconds(max);
  if (seconds === undefined || seconds < 1) throw new Error(`invalid expiry: ${text} (a duration such as 1h, 30m or PT2H)`);
  if (limit === undefined || limit < 1) throw new Error(`invalid maximum token lifetime: ${max}`);
  if (seconds > limit) throw new Error(`invalid expiry: ${text} is longer than the maximum token lifetime, ${max}`);
  return seconds;
}

function durationSeconds(text: string): number | undefined {
  const short = /^(\d{1,9})([smhd])$/.exec(text);
  if (short) return Number(short[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[short[2] as 's']!;
  const ms = parseIsoDuration(text);
  return ms === undefined || !Number.isFinite(ms) ? undefined : Math.round(ms / 1000);
}

export async function mintToken(key: SigningKey, o: MintOptions): Promise<string> {
  const tenantId = canonicalTenantId(o.tenantId);
  if (!tenantId) throw new Error(`invalid tenant id: ${String(o.tenantId).slice(0, 64)} (a GUID)`);
  const lifetime = parseExpiry(o.expires, o.maxLifetime);
  const appId = o.appId ?? DEFAULT_APP_ID;
  const delegated = o.userId !== undefined || o.scopes !== undefined;
  const claims: Record<string, unknown> = {
    tid: tenantId,
    appid: appId,
    azp: appId,
    app_displayname: o.appDisplayName ?? DEFAULT_APP_NAME,
    ver: '1.0',
  };
  if (delegated) {
    claims.scp = (o.scopes ?? ALL_PERMISSIONS).join(' ');
    claims.oid = o.userId ?? crypto.randomUUID();
    if (o.userName) claims.name = o.userName;
    claims.idtyp = 'user';
  } else {
    claims.roles = o.roles ?? ALL_PERMISSIONS;
    claims.oid = appId;
    claims.idtyp = 'app';
  }
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(`https://sts.windows.net/${tenantId}/`)
    .setAudience('https://graph.microsoft.com')
    .setSubject(String(claims.oid))
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + lifetime)
    .sign(key.privateKey);
}

/** The emulator administrator's token: no tenant, no Graph permission, an audience no Graph route accepts. */
export async function mintAdminToken(key: SigningKey, o: { expires?: string; maxLifetime?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ idtyp: 'emulator-admin' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(EMULATOR_ISSUER)
    .setAudience(EMULATOR_AUDIENCE)
    .setSubject('mailvault-emulator-administrator')
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + parseExpiry(o.expires, o.maxLifetime))
    .sign(key.privateKey);
}

/** Who may use the emulator's controls without being a tenant's principal. */
export const EMULATOR_ADMIN: Principal = Object.freeze({
  tenantId: '',
  kind: 'application',
  appId: 'mailvault-emulator',
  appDisplayName: 'Mailvault emulator administrator',
  userId: null,
  userName: null,
  permissions: new Set<string>(),
  graph: false,
  emulatorAdmin: true,
}) as Principal;

export class TokenError extends Error {}

interface CacheEntry {
  principal: Principal;
  expMs: number;
}

/**
 * Verifies bearer tokens. Signature checks cost far more than the request they guard, so a
 * verified token is cached (by its exact text) until it expires.
 */
export class TokenVerifier {
  private readonly cache: BoundedMap<string, CacheEntry>;
  private readonly byHeader: BoundedMap<string, CacheEntry & { header: string }>;
  constructor(
    private readonly key: SigningKey,
    /** An OpenID Connect issuer whose tokens are trusted too (--issuer, --jwks): Microsoft Entra ID's shape. */
    private readonly external?: ExternalIssuer,
    maxEntries = 10_000,
  ) {
    this.cache = new BoundedMap(maxEntries);
    this.byHeader = new BoundedMap(maxEntries);
  }

  /** The principal of an `Authorization` header whose token was verified before and has not expired. */
  cached(header: string | undefined): Principal | undefined {
    if (header === undefined) return undefined;
    // Keyed by the header's tail (the signature): hashing a whole ~1 KB header costs more than comparing it.
    const hit = this.byHeader.get(header.slice(-40));
    if (hit && hit.header === header && hit.expMs > Date.now() - SKEW_MS) return hit.principal;
    return undefined;
  }


  /**
   * Verifies a token; with `header`, the `Authorization` header it came in is remembered as sent so
   * the next request with it is answered by `cached` without parsing.
   */
  async verify(token: string, header?: string): Promise<Principal> {
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.expMs > Date.now() - SKEW_MS) {
        if (header) this.rememberHeader(header, hit);
        return hit.principal;
      }
      this.cache.delete(token);
    }
    let payload: Record<string, unknown>;
    let externalToken: boolean;
    try {
      // The server's own tokens name its key; any other is the external issuer's, if one is trusted.
      externalToken = this.external !== undefined && decodeProtectedHeader(token).kid !== this.key.kid;
      ({ payload } = externalToken
        ? await jwtVerify(token, this.external!.keys, { audience: GRAPH_AUDIENCES, algorithms: EXTERNAL_ALGORITHMS, clockTolerance: SKEW_MS / 1000, requiredClaims: ['exp', 'tid'] })
        : await jwtVerify(token, this.key.publicKey, {
            audience: [...GRAPH_AUDIENCES, EMULATOR_AUDIENCE],
            algorithms: ['RS256'],
            clockTolerance: SKEW_MS / 1000,
            requiredClaims: ['exp'],
          }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenError('Lifetime validation failed, the token is expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        throw new TokenError(error.claim === 'exp' ? 'Lifetime validation failed, the token has no expiry (exp).' : `Invalid token: ${error.message}`);
      }
      if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) throw new TokenError('Signature verification failed.');
      throw new TokenError('IDX14100: JWT is not well formed.');
    }
    const principal = externalToken
      ? graphPrincipal(payload, (tid) => this.external!.issuers(tid))
      : payload.aud === EMULATOR_AUDIENCE
        ? adminPrincipal(payload)
        : graphPrincipal(payload, (tid) => [`https://sts.windows.net/${tid}/`, `https://login.microsoftonline.com/${tid}/v2.0`]);
    const entry = { principal, expMs: Number(payload.exp) * 1000 };
    this.cache.set(token, entry);
    if (header) this.rememberHeader(header, entry);
    return principal;
  }

  private rememberHeader(header: string, entry: CacheEntry): void {
    this.byHeader.set(header.slice(-40), { ...entry, header });
  }
}

const SKEW_MS = 5 * 60 * 1000;

const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256'];

/** A trusted OpenID Connect issuer: its `iss` (`{tenantid}` stands for the token's tenant, as in Entra ID's metadata) and its keys. */
export interface ExternalIssuer {
  keys: JWTVerifyGetKey;
  issuers: IssuersOf;
}

export function externalIssuer(issuer: string, keys: JWTVerifyGetKey): ExternalIssuer {
  const template = issuer.toLowerCase();
  return { keys, issuers: (tid) => [template.replaceAll('{tenantid}', tid)] };
}

function adminPrincipal(payload: Record<string, unknown>): Principal {
  if (payload.iss !== EMULATOR_ISSUER) throw new TokenError('Invalid token: issuer does not match the audience.');
  return EMULATOR_ADMIN;
}

/** The issuers a tenant's tokens may name, in lower case. */
type IssuersOf = (tenantId: string) => string[];

function graphPrincipal(payload: Record<string, unknown>, issuersOf: IssuersOf): Principal {
  const tid = canonicalTenantId(payload.tid);
  if (!tid) throw new TokenError('Invalid token: the tid claim must be a tenant id (a GUID).');
  const iss = typeof payload.iss === 'string' ? payload.iss.toLowerCase() : '';
  if (!issuersOf(tid).includes(iss)) throw new TokenError('Invalid token: issuer does not match the tenant.');
  const appId = String(payload.appid ?? payload.azp ?? '');
  const scp = typeof payload.scp === 'string' ? payload.scp : undefined;
  const roles = Array.isArray(payload.roles) ? payload.roles.map(String) : undefined;
  return {
    tenantId: tid,
    kind: scp !== undefined ? 'delegated' : 'application',
    appId,
    appDisplayName: typeof payload.app_displayname === 'string' ? payload.app_displayname : null,
    userId: scp !== undefined && typeof payload.oid === 'string' ? payload.oid : null,
    userName: scp !== undefined && typeof payload.name === 'string' ? payload.name : null,
    permissions: new Set(scp !== undefined ? scp.split(' ').filter(Boolean) : roles ?? []),
    graph: true,
    emulatorAdmin: false,
  };
}
