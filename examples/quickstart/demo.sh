#!/usr/bin/env bash
# make demo: the quickstart against a local sandbox, start to finish, offline.
#
#  1. starts the simulated Intercom and Brevo APIs (tajo-agent sandbox)
#  2. applies this directory's configuration with the provider built in ./bin
#     (a throwaway Terraform CLI config with dev_overrides; no registry)
#  3. runs the agent until its first sync has completed
#  4. prints `tajo-agent status` and the tajo_connector_status data source
#  5. stops everything it started
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/bin"
work="$root/.tmp/demo"
contacts=${DEMO_CONTACTS:-3000}
terraform=${TERRAFORM:-terraform}

rm -rf "$work"
mkdir -p "$work/quickstart"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
json_field() { grep -o "\"$1\": *[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '" '; }

step "Starting the sandbox (simulated Intercom and Brevo, $contacts contacts)"
"$bin/tajo-agent" sandbox --listen 127.0.0.1:0 --contacts "$contacts" --seed 42 --ready-file "$work/sandbox.json" \
  >"$work/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sandbox.json" ] && break; sleep 0.1; done
[ -s "$work/sandbox.json" ] || { cat "$work/sandbox.log"; echo "demo: the sandbox did not start"; exit 1; }
cat "$work/sandbox.log"

intercom_url=$(json_field IntercomURL "$work/sandbox.json")
brevo_url=$(json_field BrevoURL "$work/sandbox.json")
# The secrets the connector's references name, in the agent's environment.
export INTERCOM_ACCESS_TOKEN; INTERCOM_ACCESS_TOKEN=$(json_field IntercomToken "$work/sandbox.json")
export BREVO_API_KEY; BREVO_API_KEY=$(json_field BrevoAPIKey "$work/sandbox.json")
export INTERCOM_CLIENT_SECRET; INTERCOM_CLIENT_SECRET=$(json_field IntercomClientSecret "$work/sandbox.json")
export TAJO_STORE="sqlite://$work/tajo.db"

step "Applying examples/quickstart with the provider in ./bin"
printf 'provider_installation {\n  dev_overrides {\n    "tajo/tajo" = "%s"\n  }\n  direct {}\n}\n' "$bin" >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1
cp "$root/examples/quickstart/main.tf" "$work/quickstart/"
tf() { "$terraform" -chdir="$work/quickstart" "$@"; }
tf apply -auto-approve -input=false -compact-warnings \
  -var "intercom_base_url=$intercom_url" -var "brevo_base_url=$brevo_url" | grep -vE '^\s*$' | tail -n 25

step "Running tajo-agent until the first sync has completed"
"$bin/tajo-agent" run --listen 127.0.0.1:0 >"$work/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
for _ in $(seq 600); do
  if "$bin/tajo-agent" status --json intercom 2>/dev/null | grep -q '"lastSync": "'; then break; fi
  kill -0 "$agent" 2>/dev/null || { cat "$work/agent.log"; echo "demo: the agent stopped"; exit 1; }
  sleep 0.5
done
kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
grep -E 'sync pass|error' "$work/agent.log" | tail -n 5 || true

step "tajo-agent status"
"$bin/tajo-agent" status

step "terraform output status (the tajo_connector_status data source)"
tf apply -refresh-only -auto-approve -input=false -compact-warnings \
  -var "intercom_base_url=$intercom_url" -var "brevo_base_url=$brevo_url" >/dev/null
tf output status

want_contacts=$(json_field contacts_with_email "$work/sandbox.json")
want_companies=$(json_field companies "$work/sandbox.json")
got_contacts=$(json_field contactsSynced <("$bin/tajo-agent" status --json intercom))
got_companies=$(json_field companiesSynced <("$bin/tajo-agent" status --json intercom))
step "Result"
echo "contacts synced:  $got_contacts (the sandbox has $want_contacts contacts with an email; leads without one are skipped by lead_policy = \"skip\")"
echo "companies synced: $got_companies (the sandbox has $want_companies)"
if [ "$got_contacts" != "$want_contacts" ] || [ "$got_companies" != "$want_companies" ]; then
  echo "demo: the synced counts do not match the sandbox's dataset"; exit 1
fi
echo "Everything is in $work (store, Terraform state, logs)."
