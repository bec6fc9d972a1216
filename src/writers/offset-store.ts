import type pg from 'pg';
import { FencedError } from '../errors.js';
import type { PartitionOffset } from '../records.js';

/**
 * The source of truth for consumed offsets: data_capture.ingest_offsets, written in the same
 * transaction as the rows. Each claim of a partition bumps its epoch; a write carries the epoch of
 * its claim, so a replica that lost the partition can no longer commit for it (fencing).
 */
export interface Claim {
  nextOffset: string;
  epoch: string;
}

export async function claimPartition(
  db: pg.Pool | pg.PoolClient,
  groupId: string,
  topic: string,
  partition: number,
  fetchedFrom: string,
  owner: string,
): Promise<Claim> {
  // A row lock held by the previous owner's open flush makes this wait until that flush ends,
  // so the offset read here always includes everything committed before.
  const { rows } = await db.query<{ next_offset: string; epoch: string }>(
    `insert into data_capture.ingest_offsets as o (group_id, topic, partition, next_offset, epoch, owner)
     values ($1, $2, $3, $4, 1, $5)
     on conflict (group_id, topic, partition)
       do update set epoch = o.epoch + 1, owner = excluded.owner, updated_at = now()
     returning next_offset::text, epoch::text`,
    [groupId, topic, partition, fetchedFrom, owner],
  );
  const row = rows[0];
  if (!row) throw new Error(`claim of ${topic}[${partition}] returned no row`);
  return { nextOffset: row.next_offset, epoch: row.epoch };
}

/**
 * Inside the flush transaction: advance every partition of the batch, but only where our epoch
 * still holds. Throws FencedError for the first partition we no longer own.
 */
export async function advanceOffsets(
  tx: pg.PoolClient,
  groupId: string,
  offsets: readonly PartitionOffset[],
): Promise<void> {
  const topics: string[] = [];
  const partitions: number[] = [];
  const next: string[] = [];
  const epochs: string[] = [];
  for (const o of offsets) {
    topics.push(o.topic);
    partitions.push(o.partition);
    next.push(o.nextOffset);
    epochs.push(o.epoch);
  }
  const { rows } = await tx.query<{ topic: string; partition: number }>(
    `update data_capture.ingest_offsets o
        set next_offset = v.next_offset, updated_at = now()
       from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[]) as v(topic, partition, next_offset, epoch)
      where o.group_id = $1 and o.topic = v.topic and o.partition = v.partition and o.epoch = v.epoch
      returning o.topic, o.partition`,
    [groupId, topics, partitions, next, epochs],
  );
  if (rows.length === offsets.length) return;
  const advanced = new Set(rows.map((r) => `${r.topic}\u0000${r.partition}`));
  const lost = offsets.find((o) => !advanced.has(`${o.topic}\u0000${o.partition}`));
  if (lost) throw new FencedError(lost.topic, lost.partition);
}
