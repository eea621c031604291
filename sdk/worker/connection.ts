import type { Engine } from '../../engine/engine.js';
import { PgEngine, type PgEngineOptions } from '../../engine/pg-engine.js';

/**
 * A worker's connection to Chronicle (Temporal's `NativeConnection`). Today it talks to
 * PostgreSQL directly; share one between several workers of a process.
 */
export class NativeConnection {
  private constructor(
    /** The engine every call goes through. */
    readonly engine: Engine,
    private readonly owned: boolean,
  ) {}

  /** Connects to `databaseUrl` (default: the DATABASE_URL environment variable) and migrates. */
  static async connect(options: Partial<PgEngineOptions> = {}): Promise<NativeConnection> {
    const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    const engine = await PgEngine.connect({ ...options, ...(databaseUrl ? { databaseUrl } : {}) });
    return new NativeConnection(engine, true);
  }

  /** Wraps an existing engine (it is not closed by `close()`). */
  static fromEngine(engine: Engine): NativeConnection {
    return new NativeConnection(engine, false);
  }

  async close(): Promise<void> {
    if (this.owned) await this.engine.close();
  }
}
