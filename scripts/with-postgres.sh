#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster listening on loopback only:
#   scripts/with-postgres.sh CMD [ARGS...]
# CMD gets GUICHET_DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/guichet_test.
# The cluster is stopped and its folder deleted whatever happens (failure, Ctrl-C),
# and the script exits with CMD's exit code.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

# Debian keeps the server binaries off PATH, under pg_config's bindir.
BIN=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$BIN/initdb" ]; then
    echo "$0: PostgreSQL server binaries not found; install the Debian package postgresql" >&2
    exit 1
fi

# initdb refuses to run as root, so root runs the server tools as the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    as_pg=(runuser -u postgres --)
fi

D=$(mktemp -d -t guichet-pg.XXXXXX)
chmod 755 "$D"  # the postgres user must reach the data dir and the socket
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$D"
fi

# Run a server tool from inside $D, whose owner may not be able to enter our cwd.
pg() { (cd "$D" && "${as_pg[@]}" "$BIN/$1" "${@:2}"); }

cleanup() {
    if [ -f "$D/data/postmaster.pid" ]; then
        pg pg_ctl -D "$D/data" -m fast stop >/dev/null || true
    fi
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# An ephemeral port chosen by the kernel: never 5432, where another server may run.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

pg initdb -D "$D/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
# Durability is pointless for a throwaway test database; turning it off speeds tests up.
if ! pg pg_ctl -D "$D/data" -l "$D/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $D -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null; then
    cat "$D/log" >&2
    exit 1
fi
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c "create database guichet_test"

export GUICHET_DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/guichet_test"
status=0
"$@" || status=$?
exit "$status"
