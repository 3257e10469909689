import type { FastifyInstance } from 'fastify';
import type { Core } from './core.js';

/**
 * A part of the product (mail, protection, vault, restore sessions, engine): how it wires itself
 * into the core, which Graph routes it serves (registered under /v1.0 and /beta), and what it adds
 * to the demo tenant. app.ts lists the areas in dependency order.
 */
export interface Area {
  name: string;
  /** Create services, subscribe to events, register scheduler tasks. */
  setup(core: Core): Promise<void> | void;
  /** Graph routes, paths relative to the version prefix (e.g. `/solutions/backupRestore/...`). */
  graphRoutes?(app: FastifyInstance, core: Core): void;
  /** Emulator routes under /_mailvault. */
  adminRoutes?(app: FastifyInstance, core: Core): void;
  /** Seeds this area's part of the demo tenant; runs once, in area order. */
  seedDemo?(core: Core, tenantId: string): Promise<void>;
  /** Called on shutdown. */
  close?(core: Core): Promise<void> | void;
}
