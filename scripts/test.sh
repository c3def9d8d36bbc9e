#!/usr/bin/env bash
# Runs every check the project has: installs what it needs (Debian packages, npm packages), then lint+format,
# type-check and the whole vitest suite (unit, golden pcaps against ../shared/pcaps, fuzz, live capture).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
echo '== biome (lint + format)'
npx --no-install biome ci --colors=off .
echo '== tsc --noEmit'
npx --no-install tsc --noEmit
echo '== vitest'
npx --no-install vitest run "$@"
