-- The worker's Kafka offsets, written in the same transaction as the rows they cover
-- (exactly once). epoch/owner fence a replica that lost its partitions.
create table if not exists data_capture.ingest_offsets (
  group_id text not null,
  topic text not null,
  partition integer not null,
  next_offset bigint not null,
  epoch bigint not null default 0,
  owner text,
  updated_at timestamptz not null default now(),
  primary key (group_id, topic, partition)
);
