-- 099: record the schema revision these files build, so `football-pipeline migrate` (Alembic) takes
-- over from a database initialised from sql/ (docker-compose). Keep equal to the Alembic head.
CREATE TABLE IF NOT EXISTS alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num)
SELECT '0007' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
