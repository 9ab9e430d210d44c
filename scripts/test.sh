#!/usr/bin/env bash
# The whole test run: quality gates, then the test suite on SQLite and a real PostgreSQL server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
source "$ROOT/scripts/postgres.sh"
cd "$ROOT"
if [ -z "${CHURNRADAR_TEST_POSTGRES_URL:-}" ]; then
    start_test_postgres
fi
echo "== ruff check" >&2;        ruff check src tests benchmarks
echo "== ruff format" >&2;       ruff format --check src tests benchmarks
echo "== mypy" >&2;              mypy
echo "== import contracts" >&2;  lint-imports
echo "== pytest" >&2;            python -m pytest -n 2 --durations=25 "$@"  # the slowest 25 keep the suite in view
