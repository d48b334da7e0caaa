#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (run as root) for the test suite; safe to run again.
# Writes the PID of a dockerd it started to .cache/dockerd.pid (empty if it reused one):
# the caller stops that process on exit (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.cache/bin:$PATH"

step() { echo "==> $*"; }

step "apt packages"
scripts/ci/install-packages.sh
step "node 24 (.cache/bin/node: the Node release the image ships)"
scripts/ci/fetch-node.sh
step "helm and kubectl (.cache/bin: neither is packaged for Debian 12 at a usable version)"
scripts/ci/fetch-helm.sh
step "falco 0.34.1 and 0.40.0 (test/e2e)"
scripts/ci/unpack-falco.sh
step "dockerd (loopback only)"
scripts/ci/start-dockerd.sh .cache/dockerd.pid
step "local Node base image"
scripts/docker/build-base-image.sh "${NODE_BASE_IMAGE:-falco-alert-receiver/node-base:local}"
