import type pg from 'pg';
import { type Statement, statement } from '../db.js';
import { OffsetConflictError, type PartitionConflict } from '../errors.js';
import type { PartitionOffset, Watermarks } from '../records.js';

/**
 * The source of truth for consumed offsets: data_capture.ingest_offsets, written in the same
 * transaction as the rows. Each claim of a partition bumps its epoch; a write carries the epoch of
 * its claim, so a replica that lost the partition can no longer commit for it (fencing). A write
 * also names the offset its batch starts from, so a batch is stored once even when a retry follows
 * a COMMIT whose reply was lost (compare-and-set).
 */
export interface Claim {
  /** Where reading starts: the stored next offset, or where the out-of-range policy moved it. */
  nextOffset: string;
  epoch: string;
  /** Set when the stored offset was outside the partition's log and the policy moved it. */
  reset?: OffsetReset;
}

/** What to do with a stored offset outside [low, high] of the partition's log. */
export type OutOfRangePolicy = 'earliest' | 'latest' | 'fail';

export interface OffsetReset {
  reason: 'beyond_end' | 'before_start';
  stored: string;
  low: string;
  high: string;
}

export class OffsetOutOfRangeError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly reset: OffsetReset,
  ) {
    super(
      `${topic}[${partition}]: stored offset ${reset.stored} is ${reset.reason === 'beyond_end' ? 'beyond the end' : 'before the start'} ` +
        `of the log [${reset.low}, ${reset.high}] and OFFSET_OUT_OF_RANGE=fail`,
    );
    this.name = 'OffsetOutOfRangeError';
  }
}

/**
 * Where to start reading given the stored next offset and the log's watermarks: unchanged when inside
 * the log; beyond its end (the topic was recreated) or before its start (retention removed messages
 * nobody read) it moves by the policy. Pure.
 */
export function startOffset(
  stored: string,
  marks: Watermarks,
  policy: OutOfRangePolicy,
): { start: string; reset?: OffsetReset } {
  const s = BigInt(stored);
  const beyond = s > BigInt(marks.high);
  if (!beyond && s >= BigInt(marks.low)) return { start: stored };
  const reset: OffsetReset = { reason: beyond ? 'beyond_end' : 'before_start', stored, ...marks };
  return { start: policy === 'latest' ? marks.high : marks.low, reset };
}

export interface ClaimRequest {
  groupId: string;
  topic: string;
  partition: number;
  /** Where Kafka would start (its committed offset or the earliest): the first claim's offset. */
  fetchedFrom: string;
  owner: string;
  watermarks: Watermarks;
  policy: OutOfRangePolicy;
}

/** Claim a partition: epoch + 1, and the offset to start from (checked against the log). */
export async function claimPartition(client: pg.ClientBase, req: ClaimRequest): Promise<Claim> {
  await client.query('begin');
  try {
    // The row lock makes this wait for the previous owner's open flush, so the offset read here
    // includes everything committed before, and its later writes are fenced by the new epoch.
    const { rows } = await client.query<{ next_offset: string; epoch: string }>(
      `insert into data_capture.ingest_offsets as o (group_id, topic, partition, next_offset, epoch, owner)
       values ($1, $2, $3, $4, 1, $5)
       on conflict (group_id, topic, partition)
         do update set epoch = o.epoch + 1, owner = excluded.owner, updated_at = now()
       returning next_offset::text, epoch::text`,
      [req.groupId, req.topic, req.partition, req.fetchedFrom, req.owner],
    );
    const row = rows[0];
    if (!row) throw new Error(`claim of ${req.topic}[${req.partition}] returned no row`);
    const { start, reset } = startOffset(row.next_offset, req.watermarks, req.policy);
    if (reset && req.policy === 'fail') throw new OffsetOutOfRangeError(req.topic, req.partition, reset);
    if (reset)
      await client.query(
        `update data_capture.ingest_offsets set next_offset = $4
          where group_id = $1 and topic = $2 and partition = $3`,
        [req.groupId, req.topic, req.partition, start],
      );
    await client.query('commit');
    return { nextOffset: start, epoch: row.epoch, ...(reset ? { reset } : {}) };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/**
 * Inside the flush transaction: advance every partition of the batch from its first offset to its
 * next, only where our epoch still holds and the stored offset is where the batch starts. Reading
 * its result throws OffsetConflictError naming each partition that did not advance: 'committed'
 * when the stored offset already is the batch's end (this batch was written by an attempt whose
 * COMMIT reply was lost), 'fenced' otherwise (another claim moved the epoch or the offset on).
 */
export function advanceOffsets(groupId: string, offsets: readonly PartitionOffset[]): Statement<void> {
  return statement(
    `with v as (
       select * from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[])
                  as v(topic, partition, from_offset, next_offset, epoch)
     ), moved as (
       update data_capture.ingest_offsets o
          set next_offset = v.next_offset, updated_at = now()
         from v
        where o.group_id = $1 and o.topic = v.topic and o.partition = v.partition
          and o.epoch = v.epoch and o.next_offset = v.from_offset
       returning o.topic, o.partition
     )
     select v.topic, v.partition, m.topic is not null as advanced,
            coalesce(o.epoch = v.epoch and o.next_offset = v.next_offset, false) as committed
       from v
       left join moved m on m.topic = v.topic and m.partition = v.partition
       left join data_capture.ingest_offsets o
              on o.group_id = $1 and o.topic = v.topic and o.partition = v.partition`,
    [
      groupId,
      offsets.map((o) => o.topic),
      offsets.map((o) => o.partition),
      offsets.map((o) => o.fromOffset),
      offsets.map((o) => o.nextOffset),
      offsets.map((o) => o.epoch),
    ],
    ({ rows }) => {
      const conflicts: PartitionConflict[] = [];
      for (const r of rows as { topic: string; partition: number; advanced: boolean; committed: boolean }[])
        if (!r.advanced)
          conflicts.push({
            topic: r.topic,
            partition: r.partition,
            reason: r.committed ? 'committed' : 'fenced',
          });
      if (conflicts.length > 0) throw new OffsetConflictError(conflicts);
    },
  );
}
