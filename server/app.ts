import Fastify, { type FastifyInstance } from 'fastify';
import type { PgEngine } from '../engine/pg-engine.js';
import { registerHealthRoutes } from './routes/health.js';

export interface BuildServerOptions {
  readonly engine: PgEngine;
  /** fastify's logger option; default off (the engine logs through its own logger). */
  readonly logger?: boolean;
}

/**
 * Builds the HTTP app without listening (fastify's app/server split): tests call
 * `app.inject()`, `server/main.ts` calls `listen`. Today: health endpoints only; the full
 * API over the same Engine comes with the server issue.
 */
export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false });
  await registerHealthRoutes(app, opts.engine);
  return app;
}
