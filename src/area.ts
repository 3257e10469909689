import type { FastifyInstance } from 'fastify';

/**
 * A part of the product (mail, protection, vault, restore sessions, engine, sources) as app.ts builds
 * it: each area's factory takes the shared core and the services of the areas it uses, and answers its
 * own service, its routes, its part of the demo tenant and how it stops. app.ts builds the areas in
 * dependency order, so which area sees which is written in one place.
 */
export interface Area<S = unknown> {
  name: string;
  /** What the areas built after this one may use of it. */
  service: S;
  /** Graph routes, paths relative to the version prefix (e.g. `/solutions/backupRestore/...`). */
  graphRoutes?(app: FastifyInstance): void;
  /** Emulator routes under /_mailvault. */
  adminRoutes?(app: FastifyInstance): void;
  /** Seeds this area's part of the demo tenant; runs once, in area order. */
  seedDemo?(tenantId: string): Promise<void>;
  /** Called on shutdown, in reverse order. */
  close?(): Promise<void> | void;
}
