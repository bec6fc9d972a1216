import type { SqlFile } from './sql-files.js';

export interface AppliedMigration {
  version: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(
    readonly version: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/**
 * Which files still need applying. An applied file whose content changed is refused: its
 * effects are already in the database, so a fix belongs in a new file.
 */
export function planMigrations(
  files: readonly SqlFile[],
  applied: readonly AppliedMigration[],
): { pending: SqlFile[]; skipped: string[] } {
  const appliedChecksums = new Map(applied.map((a) => [a.version, a.checksum]));
  const pending: SqlFile[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const was = appliedChecksums.get(file.version);
    if (was === undefined) pending.push(file);
    else if (was === file.checksum) skipped.push(file.version);
    else
      throw new MigrationError(
        file.version,
        `migration ${file.version} was applied with checksum ${was.slice(0, 12)}… but the file now has ` +
          `${file.checksum.slice(0, 12)}…: applied files must not change; put the change in a new file`,
      );
  }
  return { pending, skipped };
}
