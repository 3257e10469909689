/**
 * Opaque Graph-style identifiers. Exchange ids are long base64 strings; ours are base64url of a
 * kind prefix and random (or, for the demo, seeded) bytes, so they never look like GUIDs.
 */
import crypto from 'node:crypto';

const PREFIX = { message: Buffer.from('AAMkAGI2', 'base64'), folder: Buffer.from('AQMkADAw', 'base64') } as const;

/** A new message or folder id; `bytes` (16) makes it deterministic. */
export function newItemId(kind: 'message' | 'folder', bytes: Buffer = crypto.randomBytes(16)): string {
  return Buffer.concat([PREFIX[kind], bytes]).toString('base64url');
}

/** Change keys for n modifications: unique per change (one random draw per batch, then a counter). */
export function changeKeys(n: number): string[] {
  const base = crypto.randomBytes(12);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    base.writeUInt32BE((base.readUInt32BE(8) + 1) >>> 0, 8);
    out.push('CQAAABYAAA' + base.toString('base64url'));
  }
  return out;
}

/** Graph groups a thread under one id: derived from the thread's root Message-ID. */
export function conversationIdFor(rootMessageId: string): string {
  return 'AAQkAG' + crypto.createHash('sha256').update(rootMessageId.toLowerCase()).digest().subarray(0, 24).toString('base64url');
}

/** A Message-ID for mail created here (drafts, copies of nothing). */
export function newInternetMessageId(domain = 'mailvault.local'): string {
  return `<${crypto.randomBytes(12).toString('hex')}@${domain}>`;
}

/** 16 bytes derived from a label: fixed ids for the demo. */
export function bytesFor(label: string): Buffer {
  return crypto.createHash('sha256').update(label).digest().subarray(0, 16);
}

export function sha256Hex(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Ids in URLs: printable, bounded; anything else is malformed before it reaches the store. */
export function isPlausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 512 && /^[A-Za-z0-9_\-=+/.:@]+$/.test(id);
}
