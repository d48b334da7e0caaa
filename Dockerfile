# falco-alert-receiver container images, two targets of one file:
#   --target runtime   the service alone (no helm): the image k8s/ deploys by default
#   --target triggers  runtime + a pinned, checksum-verified helm and the event-generator chart
#                      archive, for k8s/components/triggers (no chart repository at run time)
# The legacy builder builds every stage up to the target, and without --target the last stage
# (triggers): always name the target. README "Deployment" has both commands.
# NODE_IMAGE: the official Node 24 (LTS) image by default, the release the test suite runs on
# (scripts/ci/fetch-node.sh); air-gapped builds pass a local base (scripts/docker/build-base-image.sh)
# with --build-arg NODE_IMAGE=<tag>.
ARG NODE_IMAGE=node:24-bookworm-slim

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
# capped by STORE_MAX_BYTES, label caps) needs a fraction of 128 MiB. And 8 MiB semi-spaces: Node 24
# (V8 13.6) grows the young generation to 3 x 32 MiB, and once the old generation's room is less
# than what a scavenge may promote, every young collection becomes a full one: with a connection
# per alert that was 38 full collections a second and 3 ms of CPU per alert, against 0.14 ms with
# 8 MiB (Node 20 kept 16 MiB here). BENCHMARKS.md has the runs.
# MALLOC_MMAP_THRESHOLD_: glibc serves allocations from 128 KiB up with their own mmap, but once
# one such block is freed it raises that threshold (and the trim threshold, to twice it) as far as
# 32 MiB, and from then on keeps freed memory in its arenas instead of giving it back (the main
# arena held 11 MB after 1,000,000 alerts, 5-6 MB with the threshold fixed). A fixed threshold turns
# that off: RSS after 1,000,000 alerts 9 MB lower, throughput the same (BENCHMARKS.md, session 18).
# HOST=::: every address of both families, so probes and the Service reach the pod on IPv4-only,
# dual-stack and IPv6-only clusters (0.0.0.0 is IPv4 only: nothing answered a pod's IPv6 address);
# on a node without IPv6 the service binds 0.0.0.0 instead and says so (event: ipv6_unavailable).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8" \
    MALLOC_MMAP_THRESHOLD_=131072 \
    HOST=:: \
    PORT=8080
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 1000:1000
EXPOSE 8080
# For plain Docker and compose (`depends_on: condition: service_healthy`); Kubernetes ignores
# HEALTHCHECK and uses the probes of k8s/deployment.yaml instead. node itself asks GET /healthz, so
# the image needs no curl or wget. It asks the plain listener on PORT, which is always up: TLS_PORT
# adds a listener beside it and ADMIN_PORT one for people, and both leave /healthz on PORT. HOST ::
# or 0.0.0.0 (or unset) is asked on 127.0.0.1, any other HOST as it is. Limits: PORT=0 (a port the
# kernel picks) cannot be found, so such a container turns unhealthy; override the check there
# (`docker run --health-cmd ...` or `--no-healthcheck`). Each check starts a node process: about
# 40 MB RSS for ~0.1 s inside the container's memory limit, every 10 s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,h=(e.HOST||'').trim(),b=h.startsWith('[')?h.slice(1,-1):h,a=['','::','0.0.0.0'].includes(b)?'127.0.0.1':b,p=(e.PORT||'').trim()||'8080';fetch('http://'+(a.includes(':')?'['+a+']':a)+':'+p+'/healthz',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# V8 flags NODE_OPTIONS cannot carry, so they are here:
# --no-allocation-site-pretenuring: V8 may decide that an allocation site of the ingest path makes
#   long-lived objects and allocate them in the old generation from then on. Ours die within their
#   turn: a third of the runs with 25 KB alerts went into that mode, with 3 x the full collections
#   and 40 % less throughput.
# --initial-old-space-size=32: V8 starts marking the old generation once the room left under its
#   limit is no more than what a scavenge may promote (Heap::IncrementalMarkingLimitReached, about
#   16 MB with 8 MiB semi-spaces). Left to itself it sets the limit some 15 MB over a live heap of
#   13-15 MB, so under 25 KB alerts it marked all the time: 13-22 full collections in 10 s at
#   3,600/s and a p99 of 90-275 ms. A larger start leaves that room (with 64: 2 in 10 s, but RSS
#   after 1,000,000 1 KB alerts 161-163 MB).
# --no-incremental-marking-task: V8 then advances that marking only from allocation, in steps of
#   0.2 ms at most. With the task, on one busy core the concurrent marker fell behind and the task's
#   step did the rest at once: 9-15 ms stalls in a third of the full collections at 12,500/s, p99
#   over 5 ms. Marking from allocation finishes later, so the old generation grows further before
#   it is collected: with 40 MB to start, RSS after the 1,000,000 alerts was 150-157 MB; with 32,
#   142-144 (40 without this flag: 139-142), and 25 KB alerts at 3,700/s kept a p99 of 1.2-1.5 ms
#   against 1.2-5.4 with 40 and the task. BENCHMARKS.md, session 28.
CMD ["node", "--no-allocation-site-pretenuring", "--initial-old-space-size=32", "--no-incremental-marking-task", "dist/main.js"]

# Helm and the chart for the triggers target. helm: docker/triggers-inputs/helm when staged
# (air-gapped, checked against HELM_BINARY_SHA256, the helm 4.1.4 binary scripts/ci/fetch-helm.sh
# installs), else the official release tarball (checked against HELM_TARBALL_SHA256, from
# https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz.sha256sum). The chart archive is always
# staged (scripts/docker/stage-triggers-inputs.sh) and checked against EVENT_GENERATOR_CHART_SHA256
# (the archive in ../shared/charts). A mismatch fails the build.
FROM ${NODE_IMAGE} AS triggers-tools
ARG HELM_TARBALL_URL=https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz
ARG HELM_TARBALL_SHA256=70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09
ARG HELM_BINARY_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
ARG EVENT_GENERATOR_CHART_VERSION=0.4.0
ARG EVENT_GENERATOR_CHART_SHA256=0959c1e4bc2e3276a62e4ecfe1f1847249f265c224e1be1de343d88d62e147a9
COPY docker/triggers-inputs/ /inputs/
COPY scripts/docker/install-triggers-tools.sh /usr/local/bin/
RUN HELM_TARBALL_URL="$HELM_TARBALL_URL" HELM_TARBALL_SHA256="$HELM_TARBALL_SHA256" \
    HELM_BINARY_SHA256="$HELM_BINARY_SHA256" EVENT_GENERATOR_CHART_VERSION="$EVENT_GENERATOR_CHART_VERSION" \
    EVENT_GENERATOR_CHART_SHA256="$EVENT_GENERATOR_CHART_SHA256" sh /usr/local/bin/install-triggers-tools.sh

# The triggers image: helm on PATH, the chart at a fixed path the trigger defaults to, and helm's
# cache/config/data under /tmp (an emptyDir in k8s/components/triggers), so the root filesystem
# stays read-only. EVENT_GENERATOR_VERSION names the action -> rule table of the chart's app:
# v0.13 for chart 0.4.x, v0.10 for chart 0.2.x.
FROM runtime AS triggers
ARG EVENT_GENERATOR_VERSION=v0.13
COPY --from=triggers-tools /out/helm /usr/local/bin/helm
COPY --from=triggers-tools /out/event-generator.tgz /opt/falco-alert-receiver/charts/event-generator.tgz
# The post-renderer that drops the chart's ClusterRole and RoleBinding (its plugin.yaml says why).
COPY docker/helm-plugins/ /opt/falco-alert-receiver/helm-plugins/
ENV TRIGGER_EVENT_GENERATOR_CHART=/opt/falco-alert-receiver/charts/event-generator.tgz \
    TRIGGER_EVENT_GENERATOR_POST_RENDERER=drop-cluster-rbac \
    HELM_PLUGINS=/opt/falco-alert-receiver/helm-plugins \
    TRIGGER_EVENT_GENERATOR_VERSION=${EVENT_GENERATOR_VERSION} \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data
