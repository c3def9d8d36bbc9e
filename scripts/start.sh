#!/usr/bin/env bash
# The main job: installs what it needs (Debian and npm packages), then runs the whole chain on this machine — a local
# nats-server, the collector (SQLite), three demo enterprises whose sensors replay the project's own real-peer
# captures — prints the dashboard URL and a sign-in token per role, and keeps running until Ctrl-C (scripts/demo.ts).
# `./scripts/start.sh --check` verifies that everything arrived, then stops and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
exec node bin/run-ts.js scripts/demo.ts "$@"
