# falco-alert-receiver container image.
# NODE_IMAGE: an official Node 20 image by default; air-gapped builds pass a local base
# (scripts/docker/build-base-image.sh) with --build-arg NODE_IMAGE=<tag>.
ARG NODE_IMAGE=node:20-bookworm-slim

# Build stage: full dependencies, bundle the TypeScript into dist/main.js (scripts/build.mjs).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build

# Production dependencies only, installed apart so the runtime stage copies no dev tooling.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# Runtime stage: root-owned, read-only app files; the process runs as uid 1000 and writes nothing,
# so it works with readOnlyRootFilesystem.
# NODE_OPTIONS: a 128 MiB old generation. Left to itself V8 sizes the heap from the host's memory
# and lets garbage pile up to ~200 MB RSS under a steady stream of alerts; the live data (store
# capped by STORE_MAX_BYTES, label caps) needs a fraction of 128 MiB. BENCHMARKS.md has the runs.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=128 \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 1000:1000
EXPOSE 8080
CMD ["node", "dist/main.js"]
