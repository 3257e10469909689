import path from 'node:path';
import { parseExpiry } from './identity/tokens.js';

/** Everything the server can be told, validated once. Every flag also reads MAILVAULT_<NAME>. */
export interface Config {
  host: string;
  port: number;
  /** Data directory; undefined with `memory`. */
  dataDir: string | undefined;
  memory: boolean;
  https: boolean;
  certFile: string | undefined;
  keyFile: string | undefined;
  demo: boolean;
  allowAnonymous: boolean;
  /** `instant`: asynchronous transitions happen at the next scheduler tick; `realistic`: Microsoft's delays. */
  timing: 'instant' | 'realistic';
  bodyLimit: number;
  /** PostgreSQL connection string; when set, the store is PostgreSQL instead of SQLite. */
  databaseUrl: string | undefined;
  logLevel: string;
  /** Milliseconds between scheduler ticks of real time. */
  schedulerIntervalMs: number;
  /**
   * Policy activate/deactivate in the wrong state (spec §11 #1): `documented` answers the error
   * table's 403 PolicyActionNotAllowed, `examples` the API pages' 400 invalidStateForActivation.
   */
  policyStateErrors: 'documented' | 'examples';
  /** The base URL clients reach the server at (behind a proxy); links are built on it. */
  publicUrl: string | undefined;
  /** Host names besides the server's own that requests may name in `Host` (see http/hosts.ts). */
  allowedHosts: string[];
  /** A request whose body stops arriving is answered 408 this long after its last byte. */
  bodyTimeoutMs: number;
  /** The longest lifetime of a token minted by POST /_mailvault/token or `mailvault token` (1h, 24h, PT12H). */
  maxTokenLifetime: string;
  /** An OpenID Connect issuer whose tokens are trusted besides the server's own (`{tenantid}` for the tenant). */
  issuer: string | undefined;
  /** Its JSON Web Key Set: a file, or an http(s) URL. */
  jwks: string | undefined;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8365,
  data: './.mailvault',
  timing: 'instant',
  bodyLimit: 1024 * 1024,
  logLevel: 'warn',
  schedulerIntervalMs: 1000,
  bodyTimeoutSeconds: 10,
  maxTokenLifetime: '24h',
} as const;

export class ConfigError extends Error {}

type Raw = Record<string, string | boolean | undefined>;

function flag(raw: Raw, name: string, env: NodeJS.ProcessEnv): string | boolean | undefined {
  if (raw[name] !== undefined) return raw[name];
  const envName = 'MAILVAULT_' + name.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
  return env[envName];
}

function bool(v: string | boolean | undefined): boolean {
  if (typeof v === 'boolean') return v;
  return v !== undefined && /^(1|true|yes|on)$/i.test(v);
}

/** Builds the configuration from command-line options (camelCase keys) and the environment. */
export function loadConfig(raw: Raw, env: NodeJS.ProcessEnv = process.env): Config {
  const memory = bool(flag(raw, 'memory', env));
  const port = Number(flag(raw, 'port', env) ?? DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid port: ${String(flag(raw, 'port', env))}`);
  const timing = String(flag(raw, 'timing', env) ?? DEFAULTS.timing);
  if (timing !== 'instant' && timing !== 'realistic') throw new ConfigError(`invalid timing profile: ${timing} (instant | realistic)`);
  const bodyLimit = Number(flag(raw, 'bodyLimit', env) ?? DEFAULTS.bodyLimit);
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) throw new ConfigError('invalid body limit');
  const host = String(flag(raw, 'host', env) ?? DEFAULTS.host);
  const allowAnonymous = bool(flag(raw, 'allowAnonymous', env));
  if (allowAnonymous && !isLoopback(host)) {
    throw new ConfigError('--allow-anonymous is for local development only and needs a loopback --host');
  }
  const cert = flag(raw, 'cert', env);
  const key = flag(raw, 'key', env);
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--cert and --key go together');
  const data = flag(raw, 'data', env);
  const policyStateErrors = String(flag(raw, 'policyStateErrors', env) ?? 'documented');
  if (policyStateErrors !== 'documented' && policyStateErrors !== 'examples') {
    throw new ConfigError(`invalid --policy-state-errors: ${policyStateErrors} (documented | examples)`);
  }
  const interval = Number(flag(raw, 'schedulerInterval', env) ?? DEFAULTS.schedulerIntervalMs);
  const publicUrl = flag(raw, 'publicUrl', env);
  if (publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(String(publicUrl));
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username) {
      throw new ConfigError(`invalid --public-url: ${String(publicUrl)} (http(s)://host[:port][/path])`);
    }
  }
  const bodyTimeout = Number(flag(raw, 'bodyTimeout', env) ?? DEFAULTS.bodyTimeoutSeconds);
  if (!(bodyTimeout > 0 && bodyTimeout <= 3600)) throw new ConfigError(`invalid --body-timeout: ${String(flag(raw, 'bodyTimeout', env))} (seconds, at most 3600)`);
  const maxTokenLifetime = String(flag(raw, 'maxTokenLifetime', env) ?? DEFAULTS.maxTokenLifetime);
  try {
    parseExpiry(maxTokenLifetime, maxTokenLifetime);
  } catch {
    throw new ConfigError(`invalid --max-token-lifetime: ${maxTokenLifetime} (a duration such as 24h or P7D)`);
  }
  const issuer = flag(raw, 'issuer', env);
  const jwks = flag(raw, 'jwks', env);
  if ((issuer === undefined) !== (jwks === undefined)) throw new ConfigError('--issuer and --jwks go together');
  return {
    host,
    port,
    dataDir: memory ? undefined : path.resolve(String(data ?? DEFAULTS.data)),
    memory,
    https: bool(flag(raw, 'https', env)) || cert !== undefined,
    certFile: cert === undefined ? undefined : String(cert),
    keyFile: key === undefined ? undefined : String(key),
    demo: bool(flag(raw, 'demo', env)),
    allowAnonymous,
    timing,
    bodyLimit,
    databaseUrl: (flag(raw, 'databaseUrl', env) as string | undefined) || undefined,
    logLevel: String(flag(raw, 'logLevel', env) ?? DEFAULTS.logLevel),
    schedulerIntervalMs: Number.isFinite(interval) && interval > 0 ? interval : DEFAULTS.schedulerIntervalMs,
    policyStateErrors,
    publicUrl: publicUrl === undefined ? undefined : String(publicUrl),
    allowedHosts: String(flag(raw, 'allowedHosts', env) ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    bodyTimeoutMs: Math.round(bodyTimeout * 1000),
    maxTokenLifetime,
    issuer: issuer === undefined ? undefined : String(issuer),
    jwks: jwks === undefined ? undefined : String(jwks),
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
