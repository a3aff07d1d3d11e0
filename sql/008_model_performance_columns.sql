-- 008 (migration 0005): model_performance gains per-outcome accuracy and the paired RPS difference
-- against the closing market, for databases created before them. Idempotent.
ALTER TABLE model_performance ADD COLUMN IF NOT EXISTS accuracy_home DOUBLE PRECISION;
ALTER TABLE model_performance ADD COLUMN IF NOT EXISTS accuracy_draw DOUBLE PRECISION;
ALTER TABLE model_performance ADD COLUMN IF NOT EXISTS accuracy_away DOUBLE PRECISION;
ALTER TABLE model_performance ADD COLUMN IF NOT EXISTS rps_vs_market DOUBLE PRECISION;
ALTER TABLE model_performance ADD COLUMN IF NOT EXISTS rps_vs_market_se DOUBLE PRECISION;
