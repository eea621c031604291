import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { PgEngine } from '../../engine/pg-engine.js';
import { ERROR_CODES } from '../../engine/protocol/codes.js';

/**
 * `/healthz`: the process is up (no dependencies checked, for liveness probes).
 * `/readyz`: Postgres answers a query; 503 with a stable code otherwise.
 */
export async function registerHealthRoutes(app: FastifyInstance, engine: PgEngine): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`SELECT 1`.execute(engine.db);
      return { status: 'ready', namespace: engine.namespace };
    } catch (err) {
      engine.log.warn('readiness check failed: database unreachable', { error: err });
      return reply.code(503).send({ code: ERROR_CODES.DATABASE_UNAVAILABLE, message: 'PostgreSQL is not answering; see the server log' });
    }
  });
}
