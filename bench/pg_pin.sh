# Sourced by bench/run.sh and bench/watch_delay.sh for their split-cores runs: PostgreSQL on
# CPU 0, everything else on the other CPUs, as where the database, the replicas and their
# clients run on machines of their own.
#
#   split_ok          whether the machine can (2 CPUs or more, taskset, pgrep)
#   pg_pin PGDIR      the cluster's postmaster and its processes on CPU 0 (new backends
#                     inherit it)
#   pg_unpin          the cluster back on every CPU, if pg_pin pinned it (call it from the
#                     exit trap too)
#   OTHER_CPUS        the CPUs but 0, for taskset -c
OTHER_CPUS="1-$(($(nproc) - 1))"
PG_PINNED=""
split_ok() { (($(nproc) >= 2)) && command -v taskset >/dev/null && command -v pgrep >/dev/null; }
pg_cpus() {
    local pm p
    pm=$(head -n 1 "$1/data/postmaster.pid")
    for p in $pm $(pgrep -P "$pm"); do taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true; done
}
pg_pin() {
    PG_PINNED=$1
    pg_cpus "$1" 0
}
pg_unpin() {
    [[ -z "$PG_PINNED" ]] || pg_cpus "$PG_PINNED" "0-$(($(nproc) - 1))"
    PG_PINNED=""
}
