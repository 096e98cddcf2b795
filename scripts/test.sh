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
echo "==> tests (vitest, on this machine's Node $(node --version))"
npx vitest run "$@"

# The exchange on a real single-node Kubernetes (tests/infra/cluster, docs/operator.md): helm
# install, an Exchange Ready, trading, each kind of pod deleted under load, Retain, Aeron. Alone,
# after the other suites: it takes the machine (and root). Its Go binaries and images are built
# once and cached. A run of chosen suites ("$@") skips it, and BOURSE_CLUSTER_E2E=0 leaves it out
# (for a machine that is not a root Debian host).
if [ "$#" -eq 0 ] && [ "${BOURSE_CLUSTER_E2E:-1}" = 1 ]; then
  echo "==> the cluster end-to-end (a local single-node Kubernetes)"
  BOURSE_E2E_LOCAL_CLUSTER=1 npx vitest run tests/e2e/cluster.test.ts
fi

# The production image's Node (its FROM line in the Dockerfile is the one place the version is
# written): when the machine's Node is another, the suites that exercise the runtime (unit, API,
# end-to-end, operator) run on that one as well, fetched from the npm registry into the test cache.
# The fault and fuzz suites check the exchange, not the runtime: once is enough.
image_node=$(sed -n 's/^FROM node:\([0-9][0-9.]*\)-.*/\1/p' Dockerfile | head -n 1)
case "$(node -p process.versions.node)" in
  "$image_node".*) ;;
  *)
    runtime="${BOURSE_INFRA_CACHE:-$HOME/.cache/bourse-infra}/node-$image_node"
    if [ ! -x "$runtime/node_modules/node/bin/node" ]; then
      echo "==> fetching Node $image_node (the image's) into $runtime"
      npm install --no-audit --no-fund --no-save --prefix "$runtime" "node@$image_node"
    fi
    # The Aeron addon is built against one Node's ABI: built for the image's Node for these runs,
    # then again for this machine's (with npm's own node-gyp, found through this machine's npm).
    node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
    trap 'node scripts/build-native.mjs >/dev/null' EXIT
    PATH="$runtime/node_modules/node/bin:$PATH" npm_config_node_gyp="$node_gyp" node scripts/build-native.mjs
    echo "==> tests (vitest, on the image's Node $("$runtime/node_modules/node/bin/node" --version))"
    if [ "$#" -gt 0 ]; then suites=("$@"); else suites=(components tests/api tests/e2e operator tests/operator); fi
    PATH="$runtime/node_modules/node/bin:$PATH" npx vitest run "${suites[@]}"
    ;;
esac
