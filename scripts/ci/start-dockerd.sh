#!/usr/bin/env bash
# Starts dockerd loopback-only (no bridge, no iptables) unless one already answers.
# Prints the PID of the dockerd it started to the file named by $1 (empty when it reused one),
# so the caller stops only what it started.
set -euo pipefail
pid_file="$1"
log_file="${DOCKERD_LOG:-.cache/dockerd.log}"
mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")"
: >"$pid_file"

if docker info >/dev/null 2>&1; then
  echo "dockerd: already running, reusing it"
  exit 0
fi

# A pid file left by a dockerd that died would make the new one refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi

setsid dockerd --bridge=none --iptables=false --ip-masq=false >"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

for _ in $(seq 1 100); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd: started (pid $pid)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "dockerd: exited during start-up; last log lines:" >&2
    tail -n 20 "$log_file" >&2
    exit 1
  fi
  sleep 0.2
done
echo "dockerd: not ready after 20 s; see $log_file" >&2
exit 1
