-- 006 (migration 0002): columns added to existing tables, for databases created before them.
-- New tables come from re-running 002_tables.sql (CREATE TABLE IF NOT EXISTS). Idempotent.
ALTER TABLE team_match_stats ADD COLUMN IF NOT EXISTS possession SMALLINT;
COMMENT ON COLUMN team_match_stats.possession IS 'percent, from the FBref match report';
