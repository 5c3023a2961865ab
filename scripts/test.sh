#!/usr/bin/env bash
# The body of `npm test`: prerequisites, build (when the build script exists), then mocha.
# Extra arguments go to mocha, e.g. `npm test -- --grep migrate`.
set -euo pipefail

cd "$(dirname "$0")/.."
started=$(date +%s)

bash scripts/prereqs.sh

if [[ -f scripts/build.mjs ]]; then
  node scripts/build.mjs
fi

status=0
npx mocha "$@" || status=$?

echo "npm test: mocha exit ${status}, $(($(date +%s) - started)) s in total"
exit "$status"
