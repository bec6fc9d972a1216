-- The design's load test: 10,000 orders, each firing the audit and order_ref triggers.
-- A benchmark, not a test: bench/order-load.ts times it on a fresh database.
do $$
begin
  for i in 1..10000 loop
    insert into order_manager.orders (
      order_ref, symbol, exchange, asset_class, side, order_type,
      quantity, price, strategy_id, account_id, position_type, created_by
    ) values (
      'TEST-' || i, 'PETR4', 'B3', 'stock', 'BUY', 'LIMIT',
      100, 30.50, gen_random_uuid(), gen_random_uuid(), 'DAY_TRADE', 'test_user'
    );
  end loop;
end
$$;
