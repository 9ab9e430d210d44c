#!/bin/sh
# The image's entrypoint: `serve` (the default) and `worker` bring the store to this version first (waiting
# for the database to answer), then run; anything else is a churnradar command (`backup --out /backups/x`).
# Settings come from the environment (CHURNRADAR_*), never from the command line.
set -eu

wait_and_init() {
    tries="${CHURNRADAR_INIT_TRIES:-30}"
    until churnradar init; do
        tries=$((tries - 1))
        if [ "$tries" -le 0 ]; then
            echo "docker-entrypoint: the store did not become ready; giving up" >&2
            exit 1
        fi
        echo "docker-entrypoint: the store is not ready yet; retrying in 2 s" >&2
        sleep 2
    done
}

command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
    serve)
        wait_and_init
        exec churnradar serve --host "${CHURNRADAR_HOST:-0.0.0.0}" --port "${CHURNRADAR_PORT:-8000}" "$@"
        ;;
    worker)
        wait_and_init
        exec churnradar worker "$@"
        ;;
    *)
        exec churnradar "$command" "$@"
        ;;
esac
