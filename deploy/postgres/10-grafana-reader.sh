#!/bin/sh
# Run once by the postgres image when its data directory is created: a role that Grafana logs in
# with, allowed to read every table git-collector creates and nothing else.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="${GRAFANA_DB_PASSWORD:-grafana}" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'reader_password';
GRANT CONNECT ON DATABASE gitcollector TO grafana_reader;
GRANT USAGE ON SCHEMA public TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE gitcollector IN SCHEMA public GRANT SELECT ON TABLES TO grafana_reader;
SQL
