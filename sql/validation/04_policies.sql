-- Background policies: retention, compression and continuous-aggregate refresh
-- (jobs.hypertable_schema exists in 2.x). Empty on the Apache edition, which has none:
-- there `tick-ingest retention` does the retention and mv_tick_stats_1m is a plain view.
select hypertable_schema,
       hypertable_name,
       proc_name,
       job_id,
       schedule_interval,
       config
  from timescaledb_information.jobs
 where proc_name in ('policy_retention', 'policy_compression', 'policy_refresh_continuous_aggregate')
   and hypertable_schema in ('order_manager', 'data_capture')
 order by hypertable_schema, hypertable_name, proc_name;
