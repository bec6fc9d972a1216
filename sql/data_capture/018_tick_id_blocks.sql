-- Tick ids in blocks: the worker draws its ticks' ids before the COPY (the bars are keyed by them),
-- and a value nextval gives now stands for itself and the 63 integers after it, which no nextval
-- gives: a flush of n ticks draws n / 64 values instead of n (nextval per row cost PostgreSQL
-- 0.27-0.39 µs a row, a quarter of what the flush adds to its COPY). A row inserted with the
-- default id takes one value, so such ids are 64 apart; ids stay unique and never reused.
-- On the sequence itself: ALTER TABLE ... SET INCREMENT is refused on a hypertable with the
-- columnstore enabled (the community edition).
alter sequence data_capture.market_ticks_id_seq increment by 64;
