#!/usr/bin/env bash
# make demo-ha: two agents on one PostgreSQL store, and a failover, offline.
#
#  1. starts a throwaway PostgreSQL cluster (initdb, pg_ctl from PATH) on a
#     unix socket, and the simulated Intercom and Brevo APIs
#  2. applies examples/quickstart into the PostgreSQL store with the
#     provider built in ./bin
#  3. starts two agents, tajo-a and tajo-b: one takes the connector's
#     lease and syncs, the other stands by
#  4. kills the leader with SIGKILL in the middle of its full sync, and
#     times how soon the other takes over and finishes
#  5. checks the result against the sandbox's dataset, and stops
#     everything it started
#
# Run as root, the PostgreSQL server runs as the user in TAJO_PG_USER
# (default postgres), as PostgreSQL refuses to run as root.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/bin"
work="$root/.tmp/demo-ha"
contacts=${DEMO_CONTACTS:-3000}
ttl=${DEMO_LEASE_TTL:-5s}
terraform=${TERRAFORM:-terraform}

for tool in initdb pg_ctl; do
  command -v "$tool" >/dev/null || { echo "demo-ha: $tool is not on PATH: install PostgreSQL's server binaries (apt-get install postgresql)"; exit 1; }
done

rm -rf "$work"
mkdir -p "$work/quickstart" "$work/pg"
pids=()
pg_started=
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "${TAJO_PG_USER:-postgres}" -- "$@"; else "$@"; fi
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for pid in "${pids[@]}"; do # the agents are disowned: wait for them here
    for _ in $(seq 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ -n "$pg_started" ]; then as_pg pg_ctl -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
json_field() { grep -o "\"$1\": *[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '" '; }
status_field() {
  local v
  v=$("$bin/tajo-agent" status --json intercom 2>/dev/null | grep -o "\"$1\": *[^,}]*" | head -1 | cut -d: -f2- | tr -d '" ' || true)
  [ "$v" = null ] && v=
  echo "$v"
}
now_ms() { date +%s%3N; }

step "Starting a throwaway PostgreSQL cluster in $work/pg"
[ "$(id -u)" = 0 ] && chown "${TAJO_PG_USER:-postgres}" "$work/pg"
as_pg initdb -D "$work/pg/data" -U tajo -A trust --no-sync >"$work/pg/initdb.log" 2>&1 ||
  { cat "$work/pg/initdb.log"; exit 1; }
as_pg pg_ctl -D "$work/pg/data" -l "$work/pg/server.log" -w \
  -o "-k $work/pg -c listen_addresses= -c fsync=off" start >/dev/null
pg_started=1
export TAJO_STORE="postgres:///postgres?host=$work/pg&user=tajo"
echo "store: $TAJO_STORE"

step "Starting the sandbox (simulated Intercom and Brevo, $contacts contacts)"
"$bin/tajo-agent" sandbox --listen 127.0.0.1:0 --contacts "$contacts" --seed 42 --ready-file "$work/sandbox.json" \
  >"$work/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sandbox.json" ] && break; sleep 0.1; done
[ -s "$work/sandbox.json" ] || { cat "$work/sandbox.log"; echo "demo-ha: the sandbox did not start"; exit 1; }
intercom_url=$(json_field IntercomURL "$work/sandbox.json")
brevo_url=$(json_field BrevoURL "$work/sandbox.json")
export INTERCOM_ACCESS_TOKEN; INTERCOM_ACCESS_TOKEN=$(json_field IntercomToken "$work/sandbox.json")
export BREVO_API_KEY; BREVO_API_KEY=$(json_field BrevoAPIKey "$work/sandbox.json")
export INTERCOM_CLIENT_SECRET; INTERCOM_CLIENT_SECRET=$(json_field IntercomClientSecret "$work/sandbox.json")

step "Applying examples/quickstart into the PostgreSQL store"
printf 'provider_installation {\n  dev_overrides {\n    "tajo/tajo" = "%s"\n  }\n  direct {}\n}\n' "$bin" >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1
cp "$root/examples/quickstart/main.tf" "$work/quickstart/"
"$terraform" -chdir="$work/quickstart" apply -auto-approve -input=false -compact-warnings \
  -var "intercom_base_url=$intercom_url" -var "brevo_base_url=$brevo_url" | grep -E '^(Apply|tajo_)' | tail -n 3

step "Starting two agents, tajo-a and tajo-b (--lease-ttl $ttl)"
declare -A agent
for name in tajo-a tajo-b; do
  "$bin/tajo-agent" run --agent-id "$name" --lease-ttl "$ttl" --listen 127.0.0.1:0 >"$work/$name.log" 2>&1 &
  agent[$name]=$!
  pids+=($!)
  disown "$!" # no "Killed" notice from the shell when the leader is killed
done
leader=
for _ in $(seq 100); do
  leader=$(status_field leader); leader=${leader%%/*}
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { tail -n 20 "$work"/tajo-*.log; echo "demo-ha: no agent took the lease"; exit 1; }
other=tajo-a; [ "$leader" = tajo-a ] && other=tajo-b
echo "$leader holds the connector's lease and runs the full sync; $other stands by"

# Into the full sync: reading contacts, or a few seconds in.
for _ in $(seq 40); do
  [ "$(status_field phase)" = contacts ] && break
  sleep 0.1
done
[ -z "$(status_field lastSync)" ] || { echo "demo-ha: the full sync ended before the kill; try more DEMO_CONTACTS"; exit 1; }
step "Killing $leader with SIGKILL during the full sync"
kill -KILL "${agent[$leader]}"
killed=$(now_ms)
for _ in $(seq 600); do
  holder=$(status_field leader)
  [ "${holder%%/*}" = "$other" ] && break
  sleep 0.05
done
[ "${holder%%/*}" = "$other" ] || { tail -n 20 "$work/$other.log"; echo "demo-ha: $other did not take over"; exit 1; }
echo "$other took over $(( $(now_ms) - killed )) ms after the kill (lease TTL $ttl)"
grep -E 'took over|resolving writes|import of a previous agent' "$work/$other.log" | sed 's/^/  /' | head -n 6 || true

for _ in $(seq 1200); do
  [ -n "$(status_field lastSync)" ] && break
  kill -0 "${agent[$other]}" 2>/dev/null || { tail -n 20 "$work/$other.log"; echo "demo-ha: $other stopped"; exit 1; }
  sleep 0.5
done
echo "$other finished the full sync $(( ($(now_ms) - killed) / 1000 )) s after the kill"

step "tajo-agent status"
"$bin/tajo-agent" status

want_contacts=$(json_field contacts_with_email "$work/sandbox.json")
want_companies=$(json_field companies "$work/sandbox.json")
got_contacts=$(status_field contactsSynced)
got_companies=$(status_field companiesSynced)
step "Result"
echo "contacts synced:  $got_contacts (the sandbox has $want_contacts contacts with an email)"
echo "companies synced: $got_companies (the sandbox has $want_companies)"
if [ "$got_contacts" != "$want_contacts" ] || [ "$got_companies" != "$want_companies" ]; then
  echo "demo-ha: the synced counts do not match the sandbox's dataset"; exit 1
fi
echo "Logs, store and Terraform state are in $work."
