/**
 * Which `Host` headers the server answers, and the origin its links are built on. Links, `Location`
 * and `@odata.context` come from `--public-url` when it is set, else from the request's `Host`, which
 * must name this server: a loopback name when it listens on loopback, else one of its addresses, its
 * host name, or a name given with `--allowed-hosts`. Any other `Host` is refused (400) before the
 * request is authenticated, so a page on another name (DNS rebinding) cannot reach a loopback server.
 */
import os from 'node:os';
import type { FastifyRequest } from 'fastify';
import { isLoopback, type Config } from '../config.js';

export interface HostPolicy {
  /** Whether a request with this `Host` header is served. */
  accepts(host: string | undefined, httpVersion: string): boolean;
  /** scheme://host[:port] for the request's absolute links. */
  origin(req: FastifyRequest): string;
}

/** A DNS name or an IPv4 address, or an IPv6 address in brackets, and an optional port: nothing else. */
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

export function hostPolicy(config: Config): HostPolicy {
  const publicUrl = config.publicUrl ? new URL(config.publicUrl) : undefined;
  const names = new Set<string>(config.allowedHosts.map((h) => h.toLowerCase().replace(/\.$/, '')));
  if (publicUrl) names.add(publicUrl.hostname.toLowerCase());
  const loopbackOnly = isLoopback(config.host) || config.allowAnonymous;
  if (!loopbackOnly) {
    names.add(os.hostname().toLowerCase());
    const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '[::]';
    if (wildcard) {
      for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address);
    } else {
      names.add(config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host.toLowerCase()}]` : config.host.toLowerCase());
    }
  }
  const named = (name: string) => name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || names.has(name);
  const accepted = new Set<string>();
  const accepts = (host: string | undefined, httpVersion: string): boolean => {
    if (host === undefined) return httpVersion === '1.0'; // HTTP/1.1 requires Host; 1.0 means the address it connected to
    if (accepted.has(host)) return true;
    if (host.length > 300 || !HOST.test(host)) return false;
    const name = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
    if (!named(name)) return false;
    if (accepted.size < 64) accepted.add(host);
    return true;
  };
  const fallback = `${config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host}:${config.port}`;
  const base = publicUrl ? publicUrl.origin + publicUrl.pathname.replace(/\/+$/, '') : undefined;
  return {
    accepts,
    origin: base !== undefined ? () => base : (req) => `${req.protocol}://${req.headers.host ?? fallback}`,
  };
}
