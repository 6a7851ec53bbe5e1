-- The PostgreSQL role the sql_query tool connects as (README, "sql_query"). Run once per
-- PostgreSQL cluster by a superuser; running it again changes nothing. Then give the role a
-- password, set llm_sql_user / llm_sql_password in the Odoo configuration file, and install or
-- update llm_thread in each database: that grants the role SELECT on the tables minus the
-- secrets (llm.tool._llm_sql_grant).
DO $$
DECLARE
    granted name;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'llm_sql_reader') THEN
        CREATE ROLE llm_sql_reader;
    END IF;
    -- A member of another role could switch to it (SET ROLE, also from inside a query).
    FOR granted IN SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
                    WHERE m.member = 'llm_sql_reader'::regrole LOOP
        EXECUTE format('REVOKE %I FROM llm_sql_reader', granted);
    END LOOP;
END
$$;
-- Logs in, and may do nothing else: no superuser, no database or role creation, no
-- replication, no bypassing row security, no privileges inherited from other roles.
ALTER ROLE llm_sql_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
    NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20;
-- Whoever logs in as it (Odoo sets stricter values for each query): read-only, time-limited.
ALTER ROLE llm_sql_reader SET default_transaction_read_only = on;
ALTER ROLE llm_sql_reader SET statement_timeout = '60s';
ALTER ROLE llm_sql_reader SET idle_in_transaction_session_timeout = '60s';
