-- Compression settings, one row per hypertable. In 2.x compression_settings has one row per
-- column (attname, segmentby_column_index, orderby_column_index, orderby_asc), so the
-- segment-by and order-by lists are put back together here. On the Apache edition every
-- hypertable shows compression_enabled = false and no lists.
select h.hypertable_schema,
       h.hypertable_name,
       h.compression_enabled,
       string_agg(c.attname, ', ' order by c.segmentby_column_index)
         filter (where c.segmentby_column_index is not null) as compress_segmentby,
       string_agg(c.attname || case when c.orderby_asc then ' asc' else ' desc' end, ', '
                  order by c.orderby_column_index)
         filter (where c.orderby_column_index is not null) as compress_orderby
  from timescaledb_information.hypertables h
  left join timescaledb_information.compression_settings c
    on c.hypertable_schema = h.hypertable_schema and c.hypertable_name = h.hypertable_name
 where h.hypertable_schema in ('order_manager', 'data_capture')
 group by h.hypertable_schema, h.hypertable_name, h.compression_enabled
 order by h.hypertable_schema, h.hypertable_name;
