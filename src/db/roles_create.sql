-- run as the connecting role (creating roles needs CREATEROLE, which the owner of
-- usage_events may lack); the grants in roles.sql run as that owner
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'usage_reader') THEN
        CREATE ROLE usage_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'usage_writer') THEN
        CREATE ROLE usage_writer NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO usage_reader, usage_writer', current_schema());
END
$$
