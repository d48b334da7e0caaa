#!/usr/bin/env bash
# Unpacks the real Falco builds (0.34.1 and 0.40.0, modern eBPF, Debian 12) that test/e2e runs
# into .cache/falco-<version>/. The archives live in ../shared/falco/runtime (CI clones the project
# beside shared/); FALCO_RUNTIME_DIR overrides that location. Also builds the LD_PRELOAD shim that
# lets 0.40.0's probe load on kernels whose verifier refuses one unused program
# (scripts/ci/falco-skip-bpf-programs.c). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../.."
runtime="${FALCO_RUNTIME_DIR:-../shared/falco/runtime}"
versions=(0.34.1 0.40.0)

for version in "${versions[@]}"; do
  archive="$runtime/falco-$version-debian12-x86_64.tar.gz"
  target=".cache/falco-$version"
  stamp="$target/.source"
  if [ ! -f "$archive" ]; then
    echo "falco $version: $archive not found (set FALCO_RUNTIME_DIR); test/e2e will use FALCO_BIN or falco on PATH" >&2
    continue
  fi
  sum="$(sha256sum "$archive" | cut -d' ' -f1)"
  if [ -x "$target/bin/falco" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    echo "falco $version: cached in $target"
    continue
  fi
  rm -rf "$target"
  mkdir -p "$target"
  tar -xzf "$archive" -C "$target"
  echo "$sum" >"$stamp"
  echo "falco $version: unpacked into $target ($("$target/bin/falco" --version 2>&1 | head -n 1))"
done

shim_source=scripts/ci/falco-skip-bpf-programs.c
shim=.cache/falco-skip-bpf-programs.so
shim_sum="$(sha256sum "$shim_source" | cut -d' ' -f1)"
if [ -f "$shim" ] && [ "$(cat "$shim.source" 2>/dev/null)" = "$shim_sum" ]; then
  echo "falco BPF program shim: cached in $shim"
else
  mkdir -p .cache
  gcc -shared -fPIC -O2 -Wall -Werror -o "$shim" "$shim_source" -ldl
  echo "$shim_sum" >"$shim.source"
  echo "falco BPF program shim: built $shim"
fi
