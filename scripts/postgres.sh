#!/usr/bin/env bash
# A throwaway PostgreSQL server for the PostgreSQL tests (docs/sources.md,
# "PostgreSQL"), then COMMAND with the connection in the environment:
#
#   scripts/postgres.sh cargo test --workspace
#
# Installs Debian's `postgresql` if no server binaries are found (apt-get;
# sudo when not root). Starts a new cluster in a temporary folder on a free
# port of 127.0.0.1 with initdb and pg_ctl (not the system service): as the
# current user, or, when that is root (which PostgreSQL refuses), as the
# `postgres` user the package creates. Creates the role and database
# `cohortflow_test` with a random password, exports
#
#   COHORTFLOW_TEST_PG='host=127.0.0.1 port=... dbname=cohortflow_test user=cohortflow_test password=...'
#
# runs COMMAND, and stops the server and removes the folder on exit,
# whatever COMMAND did. The exit status is COMMAND's. The tests load their
# own data (each test into a schema of its own), so they also run against
# any other server that COHORTFLOW_TEST_PG names.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]   (e.g. $0 cargo test --workspace)" >&2
    exit 2
fi

say() { printf 'postgres.sh: %s\n' "$*" >&2; }

bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

BIN=$(bindir)
if [ -z "$BIN" ]; then
    say "no PostgreSQL server found; installing Debian's postgresql"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # The package's own cluster is not used; policy-rc.d-less containers
    # may fail to start it, which does not matter here.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends postgresql postgresql-client >/dev/null
    BIN=$(bindir)
    if [ -z "$BIN" ]; then
        say "installing postgresql gave no initdb/pg_ctl"
        exit 1
    fi
fi

# PostgreSQL refuses to run as root: then the server runs as `postgres`.
AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    AS=(runuser -u postgres --)
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/cohortflow-pg.XXXXXX")
if [ "${#AS[@]}" -gt 0 ]; then chown postgres "$DIR"; fi
chmod 700 "$DIR"

stop() {
    local status=$?
    if [ -f "$DIR/data/postmaster.pid" ]; then
        "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 ||
            "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port: the first of 54320..54419 nothing listens on.
PORT=
for p in $(seq 54320 54419); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        PORT=$p
        break
    fi
done
if [ -z "$PORT" ]; then
    say "no free port in 54320-54419 on 127.0.0.1"
    exit 1
fi

PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

# Local (socket) connections of the server's own user are trusted, for the
# set-up below; TCP connections need a password (scram-sha-256), so that
# the tests can check a wrong password.
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    say "initdb failed"
    exit 1
}
# Throwaway: no durability needed, and a small footprint.
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB" \
    start >/dev/null || {
    cat "$DIR/server.log" >&2 || true
    say "the server did not start"
    exit 1
}

psql_admin() {
    "${AS[@]}" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres "$@"
}
psql_admin -c "CREATE ROLE cohortflow_test LOGIN PASSWORD '$PASSWORD'" \
    -c "CREATE DATABASE cohortflow_test OWNER cohortflow_test"

export COHORTFLOW_TEST_PG="host=127.0.0.1 port=$PORT dbname=cohortflow_test user=cohortflow_test password=$PASSWORD"
say "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR); COHORTFLOW_TEST_PG is set"

set +e
"$@"
status=$?
set -e
exit "$status"
