# shellcheck shell=bash
# A throwaway PostgreSQL for the tests: Debian's package, data in a temporary folder, the postgres
# user, loopback only, trust authentication (nothing but this machine can reach it).
# Source it (`. .ci/postgres.sh`): it exports SESSIONMGR_TEST_POSTGRES, which the PostgreSQL tests use.
# Idempotent: a variable already set (an existing server) is kept, a server already started is reused.
# Stop it with: runuser -u postgres -- "$SESSIONMGR_PG_BIN/pg_ctl" -D "$SESSIONMGR_PG_DATA" stop
if [ -z "${SESSIONMGR_TEST_POSTGRES:-}" ]; then
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    SESSIONMGR_PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
    SESSIONMGR_PG_DATA="${SESSIONMGR_PG_DATA:-${TMPDIR:-/tmp}/sessionmgr-pg}"
    SESSIONMGR_PG_PORT="${SESSIONMGR_PG_PORT:-55432}"
    export SESSIONMGR_PG_BIN SESSIONMGR_PG_DATA SESSIONMGR_PG_PORT
    if [ ! -f "$SESSIONMGR_PG_DATA/PG_VERSION" ]; then
        mkdir -p "$SESSIONMGR_PG_DATA"
        chown postgres: "$SESSIONMGR_PG_DATA"
        chmod 700 "$SESSIONMGR_PG_DATA"
        runuser -u postgres -- "$SESSIONMGR_PG_BIN/initdb" -D "$SESSIONMGR_PG_DATA" -U postgres --auth=trust \
            -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! runuser -u postgres -- "$SESSIONMGR_PG_BIN/pg_ctl" -D "$SESSIONMGR_PG_DATA" status >/dev/null 2>&1; then
        # fsync off: a test server need not survive a power cut, and CI time is short
        runuser -u postgres -- "$SESSIONMGR_PG_BIN/pg_ctl" -D "$SESSIONMGR_PG_DATA" -l "$SESSIONMGR_PG_DATA/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $SESSIONMGR_PG_PORT -k $SESSIONMGR_PG_DATA -c fsync=off -c max_connections=200" \
            start >/dev/null
    fi
    if ! runuser -u postgres -- psql -h 127.0.0.1 -p "$SESSIONMGR_PG_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'sessionmgr_test'" | grep -q 1; then
        runuser -u postgres -- psql -h 127.0.0.1 -p "$SESSIONMGR_PG_PORT" -U postgres -qc "CREATE DATABASE sessionmgr_test"
    fi
    export SESSIONMGR_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$SESSIONMGR_PG_PORT/sessionmgr_test"
fi
echo "SESSIONMGR_TEST_POSTGRES=$SESSIONMGR_TEST_POSTGRES"
