#!/usr/bin/env bash
# The one command that runs every test on a fresh clone: installs what the suites need, then runs
# the linter, the type checker and all vitest suites (unit, property, API, integration).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies"
  npm install --no-audit --no-fund
fi

echo "==> native addon (Aeron shared memory)"
npm run --silent build:native
echo "==> lint (biome)"
npx biome check .
echo "==> typecheck (tsc)"
npx tsc --noEmit -p tsconfig.json
echo "==> tests (vitest)"
npx vitest run "$@"
