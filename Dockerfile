# The Bourse image: every component and the operator, selected by the first argument
# (`bourse gateway|ubscore|matching|settlement|operator|start`). The TypeScript sources run through
# tsx's loader, as `npm start` does, so the image has no build step of its own beyond the Aeron
# transport's native addon. Node: the current LTS, pinned to a minor here, the one place its
# version is written (`npm test` runs the suites on the same version, read from this line).
FROM node:24.21-bookworm-slim AS deps
# package.json's postinstall builds the Aeron shared-memory addon (scripts/build-native.mjs, with
# the node-gyp npm bundles and the headers beside this Node): it needs a C++ toolchain, here only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY components/transport/aeron/native/binding.gyp components/transport/aeron/native/shm.cc ./components/transport/aeron/native/
# The postinstall only warns when the addon does not build; the image must have it (transport: aeron).
RUN npm ci --omit=dev --no-audit --no-fund \
 && test -f components/transport/aeron/native/build/Release/bourse_shm.node

FROM node:24.21-bookworm-slim
# The UID the operator and the chart run as (10001), with a name: the Aeron directory's default
# is /dev/shm/aeron-<user name> (the config falls back to the UID for a UID without a passwd entry).
RUN groupadd --gid 10001 bourse \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin bourse
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY components ./components
COPY --from=deps /app/components/transport/aeron/native/build/Release/bourse_shm.node ./components/transport/aeron/native/build/Release/bourse_shm.node
COPY operator ./operator
COPY crds ./crds
# Non-root, and the root filesystem may be mounted read-only: tsx's cache goes to /tmp (a volume).
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/bourse.mjs"]
