# The Bourse image: every component and the operator, selected by the first argument
# (`bourse gateway|ubscore|matching|settlement|operator|start`). The TypeScript sources run through
# tsx's loader, as `npm start` does, so the image has no build step of its own.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY components ./components
COPY operator ./operator
COPY crds ./crds
# Non-root, and the root filesystem may be mounted read-only: tsx's cache goes to /tmp (a volume).
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/bourse.mjs"]
