#!/usr/bin/env bash
# npm run bench:runtimes — bench:matching and bench:gateway on this machine's Node and on the
# production image's Node (the Dockerfile's FROM line), alternating A B A B so that a VM whose
# speed drifts during the run weighs on both alike. The image's Node is fetched into the test
# cache as `npm test` does.
set -euo pipefail
cd "$(dirname "$0")/.."
image_node=$(sed -n 's/^FROM node:\([0-9][0-9.]*\)-.*/\1/p' Dockerfile | head -n 1)
runtime="${BOURSE_INFRA_CACHE:-$HOME/.cache/bourse-infra}/node-$image_node"
if [ ! -x "$runtime/node_modules/node/bin/node" ]; then
  npm install --no-audit --no-fund --no-save --prefix "$runtime" "node@$image_node" >/dev/null
fi
rounds="${BENCH_ROUNDS:-2}"
for round in $(seq 1 "$rounds"); do
  for bin in "$(dirname "$(command -v node)")" "$runtime/node_modules/node/bin"; do
    echo "== round $round, node $("$bin/node" --version)"
    PATH="$bin:$PATH" npm run --silent bench:matching
    PATH="$bin:$PATH" npm run --silent bench:gateway
  done
done
