/**
 * `chronicle/testing`: a local Chronicle for tests (embedded PostgreSQL, fresh database,
 * client and worker connection). Replay stored histories with `Worker.runReplayHistory`
 * from `chronicle/worker`.
 */
export { TestWorkflowEnvironment, type LocalTestEnvironmentOptions } from './test-env.js';
export { startEmbeddedPostgres, type EmbeddedPostgres, type StartEmbeddedPostgresOptions } from './embedded-postgres.js';
