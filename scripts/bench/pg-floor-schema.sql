-- The floor under goal 3 of issue 12 (scripts/bench-api.sh): the least a
-- TOTP verification must write on PostgreSQL, in tables with only the
-- columns and indexes that writing needs. The product's own tables carry
-- more of both, so this shape is faster than any real verification.
CREATE TABLE users (id bigint PRIMARY KEY, totp_last_step bigint NOT NULL DEFAULT 0);
CREATE TABLE challenges (id bigserial PRIMARY KEY, user_id bigint NOT NULL,
    token_hash bytea NOT NULL UNIQUE, consumed_at bigint);
CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL,
    token_hash bytea NOT NULL UNIQUE, created_at bigint NOT NULL);
CREATE TABLE audit (id bigserial PRIMARY KEY, user_id bigint, event text NOT NULL,
    at bigint NOT NULL, addr text);
INSERT INTO users (id) SELECT g FROM generate_series(1, 200000) g;
INSERT INTO challenges (user_id, token_hash)
    SELECT g, sha256(g::text::bytea) FROM generate_series(1, 200000) g;
VACUUM ANALYZE;
