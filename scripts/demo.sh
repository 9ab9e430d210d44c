#!/usr/bin/env bash
# The main job on the embedded default: demo customers into ./churnradar.db, then what exists of evaluate/serve.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
cd "$ROOT"
churnradar init
churnradar demo "$@"
