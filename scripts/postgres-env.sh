# Sourced by `make test`: start a throwaway PostgreSQL server on loopback for the store tests and
# export SPANFLOW_TEST_POSTGRES_URL. Installs the server with apt-get when run as root and it is
# missing. Without a server the PostgreSQL tests skip locally, and fail when
# SPANFLOW_REQUIRE_POSTGRES=1 (CI).

_sf_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "${SPANFLOW_TEST_POSTGRES_URL:-}" ]; then
  if [ -z "$(_sf_pg_bin)" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "postgres-env: installing PostgreSQL with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
  fi
  _sf_bin="$(_sf_pg_bin)"
  if [ -n "$_sf_bin" ]; then
    _sf_dir="$(mktemp -d /tmp/spanflow-pg.XXXXXX)"
    _sf_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    _sf_run=""
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$_sf_dir"
      _sf_run="runuser -u postgres --"
    fi
    $_sf_run "$_sf_bin/initdb" -D "$_sf_dir/data" -U spanflow --auth=trust >/dev/null
    $_sf_run "$_sf_bin/pg_ctl" -D "$_sf_dir/data" -l "$_sf_dir/log" -w \
      -o "-k $_sf_dir -p $_sf_port -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    "$_sf_bin/createdb" -h 127.0.0.1 -p "$_sf_port" -U spanflow spanflow_test
    export SPANFLOW_TEST_POSTGRES_URL="postgresql://spanflow@127.0.0.1:$_sf_port/spanflow_test"
    # shellcheck disable=SC2064
    trap "$_sf_run '$_sf_bin/pg_ctl' -D '$_sf_dir/data' -m fast stop >/dev/null; rm -rf '$_sf_dir'" EXIT
    echo "postgres-env: PostgreSQL on 127.0.0.1:$_sf_port" >&2
  else
    echo "postgres-env: no PostgreSQL server found; PostgreSQL tests will skip" >&2
  fi
fi
