#!/bin/bash
# PSS of the demo proxy's processes (gunicorn --preload, 2 workers) after 300 requests,
# with FAST_LITELLM_GC_FREEZE=$1 (true|false), on port $2. Run from a checkout after `make install`.
#   bench/memory/gc_freeze_pss.sh false 4131; bench/memory/gc_freeze_pss.sh true 4132
set -u
cd "$(dirname "$0")/../.."
FAST_LITELLM_GC_FREEZE=$1 timeout 400 .venv/bin/fast-litellm proxy --demo --port "$2" --workers 2 \
  > "/tmp/gc_freeze_pss_$2.log" 2>&1 &
for _ in $(seq 1 120); do
  sleep 1
  curl -s -o /dev/null -w "%{http_code}" "localhost:$2/health/readiness" 2>/dev/null | grep -q 200 && break
done
sleep 2
for _ in $(seq 1 300); do
  curl -s -o /dev/null "http://localhost:$2/v1/chat/completions" -H "Authorization: Bearer sk-demo" \
    -H "Content-Type: application/json" -d '{"model":"demo","messages":[{"role":"user","content":"hi"}]}'
done
for p in $(pgrep -f "gunicorn.*$2"); do
  echo "FAST_LITELLM_GC_FREEZE=$1 pid $p PSS $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup") kB"
done
pkill -f "port $2"
