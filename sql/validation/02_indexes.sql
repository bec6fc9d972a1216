-- Indexes by schema (plain PostgreSQL catalog; unchanged from the design's query).
select schemaname, tablename, indexname, indexdef
  from pg_indexes
 where schemaname in ('order_manager', 'data_capture')
 order by schemaname, tablename, indexname;
