-- The design's query: PETR4 orders of the last day, newest first. Target: under 50 ms with 10K rows.
explain (analyze, buffers)
select *
  from order_manager.orders
 where symbol = 'PETR4'
   and created_at > now() - interval '1 day'
 order by created_at desc
 limit 100;
