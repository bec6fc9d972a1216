export { type MigrateOptions, type MigrateResult, migrate } from './migrate.js';
export { type AppliedMigration, MigrationError, planMigrations } from './plan.js';
export { type RetentionResult, runRetention } from './retention.js';
export {
  checksum,
  DATA_CAPTURE_SQL_DIR,
  ORDER_MANAGER_SQL_DIR,
  readSqlFiles,
  type SqlFile,
} from './sql-files.js';
