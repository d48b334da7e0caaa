#!/usr/bin/env bash
# Fills docker/triggers-inputs/ for `docker build --target triggers`:
#   - the event-generator chart archive (version $EVENT_GENERATOR_CHART_VERSION, default 0.4.0)
#     from $FALCO_CHARTS_DIR (default ../shared/charts), else `helm pull` from the falcosecurity
#     repository (online);
#   - with --helm PATH, that helm binary (air-gapped builds; the Dockerfile checks its sha256).
# Usage: stage-triggers-inputs.sh [--helm PATH]
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${EVENT_GENERATOR_CHART_VERSION:-0.4.0}"
charts_dir="${FALCO_CHARTS_DIR:-../shared/charts}"
target=docker/triggers-inputs
archive="event-generator-$version.tgz"

rm -f "$target/helm" "$target"/event-generator-*.tgz
if [ "${1:-}" = "--helm" ]; then
  cp "$2" "$target/helm"
  echo "staged helm from $2"
fi
if [ -f "$charts_dir/$archive" ]; then
  cp "$charts_dir/$archive" "$target/$archive"
  echo "staged $archive from $charts_dir"
else
  helm pull event-generator --repo https://falcosecurity.github.io/charts --version "$version" \
    --destination "$target"
  echo "staged $archive with helm pull (pass its sha256 as EVENT_GENERATOR_CHART_SHA256)"
fi
