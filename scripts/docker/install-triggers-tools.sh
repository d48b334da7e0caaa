#!/bin/sh
# Runs inside the Dockerfile's triggers-tools stage: puts a checksum-verified helm and the pinned
# event-generator chart archive into /out. POSIX sh: the local base image has dash and busybox only.
# Inputs (build args, see the Dockerfile): HELM_TARBALL_URL, HELM_TARBALL_SHA256, HELM_BINARY_SHA256,
# EVENT_GENERATOR_CHART_VERSION, EVENT_GENERATOR_CHART_SHA256; staged files in /inputs.
set -eu
inputs=/inputs
out=/out
mkdir -p "$out"

# Fails the build unless FILE has exactly the pinned sha256.
verify() {
  echo "$2  $1" | sha256sum -c - || {
    echo "sha256 of $1 is not the pinned $2" >&2
    exit 1
  }
}

if [ -f "$inputs/helm" ]; then
  echo "helm: from the build context"
  cp "$inputs/helm" "$out/helm"
  verify "$out/helm" "$HELM_BINARY_SHA256"
else
  echo "helm: downloading $HELM_TARBALL_URL"
  # node is the one HTTP client every base image here has (no curl in node:*-slim).
  node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`);
    require("node:fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); })' \
    "$HELM_TARBALL_URL" /tmp/helm.tar.gz
  verify /tmp/helm.tar.gz "$HELM_TARBALL_SHA256"
  tar -xzf /tmp/helm.tar.gz -C /tmp
  cp /tmp/linux-*/helm "$out/helm"
fi
chmod 0755 "$out/helm"

chart="$inputs/event-generator-$EVENT_GENERATOR_CHART_VERSION.tgz"
if [ ! -f "$chart" ]; then
  echo "missing $chart: run scripts/docker/stage-triggers-inputs.sh before the build" >&2
  exit 1
fi
cp "$chart" "$out/event-generator.tgz"
verify "$out/event-generator.tgz" "$EVENT_GENERATOR_CHART_SHA256"
chmod 0644 "$out/event-generator.tgz"
