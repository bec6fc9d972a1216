-- Hypertables and their chunk intervals (TimescaleDB 2.x: hypertable_schema/hypertable_name,
-- dimensions.time_interval; 1.x's schema_name/table_name/interval_length no longer exist).
select h.hypertable_schema,
       h.hypertable_name,
       d.column_name as time_column,
       d.time_interval
  from timescaledb_information.hypertables h
  join timescaledb_information.dimensions d
    on d.hypertable_schema = h.hypertable_schema and d.hypertable_name = h.hypertable_name
 where h.hypertable_schema in ('order_manager', 'data_capture')
 order by h.hypertable_schema, h.hypertable_name;
