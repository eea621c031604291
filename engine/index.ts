export type * from './engine.js';
export { PgEngine, defaultIdentity, type PgEngineOptions } from './pg-engine.js';
export * from './errors.js';
export { migrate, codeSchemaVersion } from './db/migrate.js';
export type { Logger } from './logger.js';
export { consoleLogger } from './logger.js';
