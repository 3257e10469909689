/**
 * Starts the real server for a test (in memory, random port) and talks to it over HTTP, the way a
 * client does. `request` returns status, headers and parsed JSON so tests can assert exact wire shapes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { mintAdminToken, mintToken, type MintOptions } from '../../src/identity/tokens.js';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body text (sent as is). */
  raw?: string | Buffer<ArrayBuffer>;
  headers?: Record<string, string>;
  /** A token, `null` for none; default: an application token of the default tenant with every permission. */
  token?: string | null;
}

export interface TestServer {
  app: App;
  base: string;
  tenantId: string;
  /** A new tenant (made by the emulator administrator), for tests that need isolation from others on the same server. */
  newTenant(): Promise<string>;
  /** The emulator administrator's token (server-wide controls under /_mailvault). */
  adminToken: string;
  token(o?: Partial<MintOptions>): Promise<string>;
  request<T = any>(method: string, path: string, o?: RequestOptions): Promise<TestResponse<T>>;
  /** Moves the emulated clock forward (ISO 8601 duration) and runs what became due. */
  advance(duration: string): Promise<string>;
  /** The emulated clock's time (ISO). */
  now(): Promise<string>;
  close(): Promise<void>;
}

/**
 * With MAILVAULT_TEST_DATABASE_URL (a PostgreSQL server URL, e.g. postgres://postgres@127.0.0.1:5432/test)
 * every test server gets a database of its own there instead of in-memory SQLite.
 */
export async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = process.env.MAILVAULT_TEST_DATABASE_URL;
  if (!admin) return undefined;
  const { default: pg } = await import('pg');
  const name = `mv_test_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function startServer(flags: Record<string, string | boolean> = {}): Promise<TestServer> {
  const pgdb = flags.databaseUrl === undefined ? await postgresDatabase() : undefined;
  if (pgdb) flags = { ...flags, databaseUrl: pgdb.url };
  const dataDir = flags.memory === false ? fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-test-')) : undefined;
  const config: Config = loadConfig(
    { port: '0', logLevel: 'silent', memory: dataDir === undefined, ...(dataDir ? { data: dataDir } : {}), ...stripMemory(flags) },
    {},
  );
  const app = await createApp(config);
  const base = await app.listen();
  const defaultToken = await mintToken(app.core.key, { tenantId: app.core.defaultTenantId });
  const adminToken = await mintAdminToken(app.core.key);
  const server: TestServer = {
    app,
    base,
    tenantId: app.core.defaultTenantId,
    adminToken,
    async newTenant() {
      const r = await server.request('POST', '/_mailvault/tenants', { token: adminToken, body: {} });
      if (r.status !== 201) throw new Error(`tenant create failed: ${r.text}`);
      return r.body.id as string;
    },
    token: (o = {}) => mintToken(app.core.key, { tenantId: app.core.defaultTenantId, ...o }),
    async request(method, p, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token === undefined ? defaultToken : o.token;
      if (token !== null) headers.authorization ??= `Bearer ${token}`;
      let body: string | Buffer<ArrayBuffer> | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(p.startsWith('http') ? p : base + p, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = undefined;
      if (text && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    async advance(duration) {
      const r = await server.request('POST', '/_mailvault/clock', { token: adminToken, body: { advance: duration } });
      if (r.status !== 200) throw new Error(`clock advance failed: ${r.text}`);
      return r.body.now as string;
    },
    async now() {
      const r = await server.request('GET', '/_mailvault/clock');
      if (r.status !== 200) throw new Error(`clock read failed: ${r.text}`);
      return r.body.now as string;
    },
    async close() {
      await app.close();
      await pgdb?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

function stripMemory(flags: Record<string, string | boolean>): Record<string, string | boolean> {
  const { memory: _m, ...rest } = flags;
  return rest;
}

/** Asserts the Graph error envelope and returns it. */
export function expectGraphError(r: TestResponse, status: number, code: string): { code: string; message: string } {
  if (r.status !== status || r.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${r.status} ${r.text}`);
  }
  const inner = r.body.error.innerError;
  if (!inner || typeof inner['request-id'] !== 'string' || typeof inner['client-request-id'] !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(inner.date)) {
    throw new Error(`malformed innerError: ${r.text}`);
  }
  if (r.headers.get('request-id') !== inner['request-id']) throw new Error('request-id header and innerError differ');
  return r.body.error;
}
