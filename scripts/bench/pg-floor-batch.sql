-- pg-floor.sql for 32 verifications at once: the same four writes per
-- verification, for 32 consecutive users, in one statement and one
-- SERIALIZABLE transaction. What a PostgreSQL group commit (one round trip
-- for the verifications that arrive together) could reach at best.
\set uid random(1, 199900)
\set step random(1, 1000000000)
WITH b AS (SELECT g AS uid FROM generate_series(:uid, :uid + 31) g),
     c AS (UPDATE challenges SET consumed_at = :step
           WHERE token_hash IN (SELECT sha256(uid::text::bytea) FROM b) RETURNING user_id),
     u AS (UPDATE users SET totp_last_step = :step
           WHERE id IN (SELECT user_id FROM c) RETURNING id),
     s AS (INSERT INTO sessions (user_id, token_hash, created_at)
           SELECT id, sha256((random()::text || :step)::bytea), :step FROM u RETURNING 1)
INSERT INTO audit (user_id, event, at, addr)
    SELECT id, 'second_factor_verified', :step, '127.0.0.1' FROM u;
