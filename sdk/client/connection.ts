import type { Engine } from '../../engine/engine.js';
import { PgEngine, type PgEngineOptions } from '../../engine/pg-engine.js';

/**
 * A client's connection to Chronicle (Temporal's `Connection`). Today it talks to
 * PostgreSQL directly through the engine; the HTTP transport comes with the server.
 */
export class Connection {
  private constructor(
    /** The engine every client call goes through. */
    readonly engine: Engine,
    private readonly owned: boolean,
  ) {}

  /** Connects to `databaseUrl` (default: the DATABASE_URL environment variable). */
  static async connect(options: Partial<PgEngineOptions> = {}): Promise<Connection> {
    const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    const engine = await PgEngine.connect({ ...options, ...(databaseUrl ? { databaseUrl } : {}) });
    return new Connection(engine, true);
  }

  /** Wraps an existing engine (it is not closed by `close()`). */
  static fromEngine(engine: Engine): Connection {
    return new Connection(engine, false);
  }

  async close(): Promise<void> {
    if (this.owned) await this.engine.close();
  }
}
