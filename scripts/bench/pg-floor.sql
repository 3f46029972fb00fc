-- One verification's writes in one statement, so one round trip (pgbench
-- runs it in its own SERIALIZABLE transaction): use up the challenge found
-- by its token hash, advance the user's TOTP step, open a session and
-- write the audit row. The product needs more (the throttles, the
-- attempt count, the secret); every write here happens on every run.
\set uid random(1, 200000)
\set step random(1, 1000000000)
WITH c AS (UPDATE challenges SET consumed_at = :step
           WHERE token_hash = sha256(:uid::text::bytea) RETURNING user_id),
     u AS (UPDATE users SET totp_last_step = :step
           WHERE id = (SELECT user_id FROM c) RETURNING id),
     s AS (INSERT INTO sessions (user_id, token_hash, created_at)
           SELECT id, sha256((random()::text || :step)::bytea), :step FROM u RETURNING 1)
INSERT INTO audit (user_id, event, at, addr)
    SELECT id, 'second_factor_verified', :step, '127.0.0.1' FROM u;
