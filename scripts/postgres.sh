# A throwaway PostgreSQL server for the tests. Source it, then call `postgres_start`:
#
#   source scripts/postgres.sh && postgres_start
#
# postgres_start installs PostgreSQL from Debian's packages when it is missing (as root; pgvector
# too, best effort), runs `initdb` into a temporary directory as a non-root user, starts the
# server listening only on a unix socket in that directory, exports OMI_TEST_POSTGRES_DSN and
# OMI_POSTGRES_DSN, and sets an EXIT trap that stops the server and removes the directory, even
# when the tests fail. A DSN already in OMI_TEST_POSTGRES_DSN is used as is (no server started).
#
# Run directly (`bash scripts/postgres.sh COMMAND...`) it runs COMMAND with the server up.

# _pg_bindir: the directory holding initdb and pg_ctl of the newest PostgreSQL installed
# (Debian's layout under $OMI_PG_LIBDIR, default /usr/lib/postgresql, then PATH).
_pg_bindir() {
    local dir
    dir="$(ls -d "${OMI_PG_LIBDIR:-/usr/lib/postgresql}"/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

# _pg_apt_install PACKAGE...: apt-get install quietly; the log is shown when it fails.
_pg_apt_install() {
    local log
    log="$(mktemp)"
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    tail -n 15 "$log" >&2
    rm -f "$log"
    return 1
}

# _pg_try_pgvector BINDIR: install pgvector for that server version if Debian has it (best effort).
_pg_try_pgvector() {
    local version package
    version="$(basename "$(dirname "$1")")"
    package="postgresql-$version-pgvector"
    if [ "$(id -u)" -ne 0 ] || [ -e "/usr/share/postgresql/$version/extension/vector.control" ]; then
        return 0
    fi
    if apt-cache show "$package" >/dev/null 2>&1; then
        echo "==> installing $package" >&2
        _pg_apt_install "$package" || echo "warning: $package did not install; the tests use the plain vector search" >&2
    fi
}

_pg_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: the tests need PostgreSQL (initdb, pg_ctl) and none is installed; install it with 'sudo apt-get install postgresql' or set OMI_TEST_POSTGRES_DSN to a server you own" >&2
        return 1
    fi
    echo "==> installing PostgreSQL from Debian's packages" >&2
    apt-get update -q >/dev/null 2>&1 || echo "warning: apt-get update failed; trying the cached package lists" >&2
    if ! _pg_apt_install postgresql; then
        echo "error: 'apt-get install postgresql' failed (log above); install PostgreSQL or set OMI_TEST_POSTGRES_DSN" >&2
        return 1
    fi
    _pg_stop_system_clusters
}

# _pg_stop_system_clusters: Debian's package creates a 'main' cluster and starts it where
# services may start (a VM with systemd; not in a container). The tests use their own, so stop
# it: nothing the test command set off is left running.
_pg_stop_system_clusters() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    local version name status
    while read -r version name _ status _; do
        case "$status" in
            online*) echo "==> stopping the cluster $version/$name that installing PostgreSQL started" >&2
                     pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true ;;
        esac
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
}

# _pg_owner: the non-root user that runs the server (PostgreSQL refuses to run as root).
_pg_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
        return
    fi
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    echo postgres
}

# _pg_as_owner COMMAND...: run COMMAND as the server's owner.
_pg_as_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    else
        runuser -u "$OMI_PG_OWNER" -- "$@"
    fi
}

postgres_stop() {
    if [ -n "${OMI_PG_DIR:-}" ] && [ -d "$OMI_PG_DIR" ]; then
        if [ -f "$OMI_PG_DIR/data/postmaster.pid" ]; then
            _pg_as_owner "$OMI_PG_BINDIR/pg_ctl" -D "$OMI_PG_DIR/data" -m immediate -w stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf "$OMI_PG_DIR"
    fi
    OMI_PG_DIR=""
}

postgres_start() {
    if [ -n "${OMI_TEST_POSTGRES_DSN:-}" ]; then
        export OMI_POSTGRES_DSN="${OMI_POSTGRES_DSN:-$OMI_TEST_POSTGRES_DSN}"
        echo "==> using the PostgreSQL server in OMI_TEST_POSTGRES_DSN" >&2
        return 0
    fi
    OMI_PG_BINDIR="$(_pg_bindir)"
    if [ -z "$OMI_PG_BINDIR" ]; then
        _pg_install || return 1
        OMI_PG_BINDIR="$(_pg_bindir)"
    fi
    if [ -z "$OMI_PG_BINDIR" ]; then
        echo "error: PostgreSQL was installed but initdb was not found under ${OMI_PG_LIBDIR:-/usr/lib/postgresql}/*/bin" >&2
        return 1
    fi
    _pg_try_pgvector "$OMI_PG_BINDIR"
    OMI_PG_OWNER="$(_pg_owner)"
    OMI_PG_DIR="$(mktemp -d /tmp/omi-pg.XXXXXX)"
    trap postgres_stop EXIT
    chmod 755 "$OMI_PG_DIR"
    [ "$(id -u)" -ne 0 ] || chown "$OMI_PG_OWNER" "$OMI_PG_DIR"
    local log="$OMI_PG_DIR/server.log"
    if ! _pg_as_owner "$OMI_PG_BINDIR/initdb" -D "$OMI_PG_DIR/data" -U omi -A trust -E UTF8 \
            --locale=C --no-sync >"$OMI_PG_DIR/initdb.log" 2>&1; then
        tail -n 15 "$OMI_PG_DIR/initdb.log" >&2
        echo "error: initdb failed (log above)" >&2
        return 1
    fi
    if ! _pg_as_owner "$OMI_PG_BINDIR/pg_ctl" -D "$OMI_PG_DIR/data" -l "$log" -w -t 30 \
            -o "-c listen_addresses='' -k $OMI_PG_DIR" start >/dev/null 2>&1; then
        tail -n 15 "$log" >&2
        echo "error: the PostgreSQL server did not start (log above)" >&2
        return 1
    fi
    if ! "$OMI_PG_BINDIR/createdb" -h "$OMI_PG_DIR" -U omi omi_test 2>&1; then
        echo "error: could not create the test database" >&2
        return 1
    fi
    export OMI_TEST_POSTGRES_DSN="host=$OMI_PG_DIR user=omi dbname=omi_test"
    export OMI_POSTGRES_DSN="$OMI_TEST_POSTGRES_DSN"
    echo "==> PostgreSQL $(basename "$(dirname "$OMI_PG_BINDIR")") on $OMI_PG_DIR (stopped on exit)" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    if [ "$#" -eq 0 ]; then
        echo "usage: bash scripts/postgres.sh COMMAND [ARGS...]  (runs COMMAND with a throwaway server)" >&2
        exit 2
    fi
    postgres_start
    set +e
    "$@"
    status=$?
    exit "$status"
fi
