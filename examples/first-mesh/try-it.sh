#!/bin/sh
# The first mesh on one host, start to finish (README: "A first mesh on one host").
set -eu; cd "$(dirname "$0")"; st=$(mktemp -d); trap 'trap "" TERM; kill 0; wait; rm -rf "$st"' EXIT
ml=${MESHLITE:-node ../../dist/src/cli/main.js}  # unquoted below: a command and its arguments
$ml serve -c . --state-dir "$st" --ads-address 127.94.0.100:15010 --admin-address 127.94.0.100:15014 >"$st/serve.log" 2>&1 &
python3 -m http.server 8080 --bind 127.94.1.1 >/dev/null 2>&1 & python3 -m http.server 8080 --bind 127.94.1.2 >/dev/null 2>&1 &
until curl -sf http://127.94.0.100:15014/ready >/dev/null; do sleep 0.2; done
for w in web:1 api:2; do p=${w%:*}.shop; $ml token -c . --proxy $p --state-dir "$st" >"$st/$p.token" 2>/dev/null
  $ml agent --proxy $p --control-plane 127.94.0.100:15010 --token-file "$st/$p.token" --root-cert "$st/ca/root-cert.pem" \
    --work-dir "$st/$p" --status-address 127.94.0.${w#*:}:15020 >"$st/$p.log" 2>&1 &
  until curl -sf http://127.94.0.${w#*:}:15020/healthz/ready >/dev/null; do sleep 0.2; done; done
curl -s -o /dev/null -w 'web -> api:        %{http_code}\n' -x http://127.94.0.1:15001 http://api.shop.svc.cluster.local:8000/  # mTLS, allowed
curl -s -o /dev/null -w 'api -> api:        %{http_code}\n' -x http://127.94.0.2:15001 http://api.shop.svc.cluster.local:8000/  # mTLS, not web: 403
curl -s -o /dev/null -w 'no sidecar -> api: %{http_code}\n' http://127.94.0.2:8080/ || true            # plaintext: STRICT resets it
$ml matrix -c . --path /                                                     # the same answers, predicted from the config alone
