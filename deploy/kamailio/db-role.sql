-- The SIP edge's database login: it may read the units' HA1s and nothing else.
-- Run after `lifeline migrate` as the schema owner, e.g.
--   psql "$LIFELINE_DATABASE_URL" -v kamailio_password="'...'" -f deploy/kamailio/db-role.sql
-- (docker-compose.yml's `sip-db-role` service does this).
SELECT format('CREATE ROLE kamailio LOGIN PASSWORD %L', :kamailio_password)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kamailio') \gexec
ALTER ROLE kamailio LOGIN PASSWORD :kamailio_password;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM kamailio;
GRANT USAGE ON SCHEMA public TO kamailio;
GRANT SELECT (username, ha1) ON unit_sip_credentials TO kamailio;
