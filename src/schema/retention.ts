import pg from 'pg';

export interface RetentionResult {
  hypertable: string;
  dropAfter: string;
  /** Names of the chunks dropped by this run. */
  droppedChunks: string[];
}

/**
 * Drop the chunks older than each hypertable's window, as data_capture.retention_windows()
 * lists them (the same windows the community edition's retention policies use). On the
 * Apache edition this is the only retention there is: run it on a schedule. On the community
 * edition it is harmless (it drops what the policies would drop at their next run).
 * drop_chunks needs the hypertables' owner, not the run-time `timescale` role.
 */
export async function runRetention(databaseUrl: string): Promise<RetentionResult[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tick-ingest retention' });
  await client.connect();
  try {
    const { rows: windows } = await client.query<{ hypertable: string; drop_after: string }>(
      'select hypertable::text, drop_after::text from data_capture.retention_windows()',
    );
    const results: RetentionResult[] = [];
    for (const w of windows) {
      const { rows } = await client.query<{ chunk: string }>(
        'select drop_chunks($1::regclass, older_than => $2::interval)::text as chunk',
        [w.hypertable, w.drop_after],
      );
      results.push({
        hypertable: w.hypertable,
        dropAfter: w.drop_after,
        droppedChunks: rows.map((r) => r.chunk),
      });
    }
    return results;
  } finally {
    await client.end();
  }
}
