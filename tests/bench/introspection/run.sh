#!/usr/bin/env bash
# Measures the introspection cache through a release oauth-host (2 workers):
# wrk for 10 s with 100 distinct tokens; prints the hit ratio (host metrics)
# and the calls the introspection endpoint saw per token.
#   cargo build --release -p oauth-host
#   cargo build --target wasm32-wasip1 --profile wasm -p oauth-filter --target-dir target/wasm
#   bash tests/bench/introspection/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here="$root/tests/bench/introspection"
dir=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ip=$(free_port); up=$(free_port); lp=$(free_port); ap=$(free_port)
python3 "$here/servers.py" "$ip" "$up" & servers=$!
trap 'kill $servers ${host:-} 2>/dev/null; rm -rf "$dir"' EXIT
filter=$(cat <<JSON
{"providers":[{"name":"as","issuer":"https://as.test","audiences":["api"],"resolver":"introspection",
 "introspection":{"uri":"http://127.0.0.1:$ip/introspect","cluster":"as",
  "client_auth":{"method":"client_secret_basic","client_id":"gw","client_secret":"s"},"timeout_ms":2000}}],
 "audit":{"enabled":false},"introspection_cache":{"max_ttl_s":300}}
JSON
)
cat > "$dir/host.yaml" <<YAML
workers: 2
admin: {address: 127.0.0.1:$ap}
listeners: [{address: 127.0.0.1:$lp}]
routes: [{cluster: backend}]
clusters:
  - {name: backend, address: 'http://127.0.0.1:$up', connect_timeout: 1s, request_timeout: 5s}
  - {name: as, address: 'http://127.0.0.1:$ip', connect_timeout: 1s, request_timeout: 5s}
filters:
  - name: oauth
    module: '$root/target/wasm/opt/oauth_filter.wasm'
    vm_id: oauth
    configuration: '$filter'
YAML
"$root/target/release/oauth-host" --config "$dir/host.yaml" > "$dir/host.log" 2>&1 & host=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ap/ready" > /dev/null && break; sleep 0.1; done
wrk -t2 -c20 -d10s -s "$here/tokens.lua" "http://127.0.0.1:$lp/"
metrics=$(curl -s "http://127.0.0.1:$ap/metrics")
m() { echo "$metrics" | awk -v n="$1" '$1==n || index($1, n"{")==1 {s+=$NF} END {print s+0}'; }
hits=$(m oauth_filter_introspection_cache_hits); misses=$(m oauth_filter_introspection_cache_misses)
echo "cache hits $hits, misses $misses, hit ratio $(python3 -c "print(f'{$hits/($hits+$misses):.5f}')")"
echo "filter: introspection calls $(m oauth_filter_introspection_calls), allowed $(m oauth_filter_allowed)"
curl -s "http://127.0.0.1:$ip/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("server: calls", d["calls"], "tokens", d["tokens"], "max calls per token", d["max_per_token"])'
