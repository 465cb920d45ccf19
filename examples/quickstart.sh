#!/usr/bin/env bash
# Quickstart against a running embedded server (`pwsim serve` in another terminal), with curl only:
# upload Adult with a declared schema, ask for a synthetic copy at epsilon 1, wait, download, verify.
#   bash examples/quickstart.sh            (from the repository root; PWSIM_URL to point elsewhere)
set -euo pipefail

URL="${PWSIM_URL:-http://127.0.0.1:8000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${DATA:-$HERE/../../shared/data/adult.csv}"   # ../shared/data/adult.csv from the repository root
OUT="${OUT:-$(mktemp -d)}"

field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }

for _ in $(seq 1 30); do curl -sf -o /dev/null "$URL/readyz" && break; sleep 1; done
curl -sSf -o /dev/null "$URL/readyz" || { echo "no PWSIM server ready at $URL: start one with 'pwsim serve'"; exit 1; }

echo "1. upload $DATA with examples/adult-schema.json and a total budget of epsilon 3"
dataset_id=$(curl -sSf "$URL/v1/datasets" \
  -F "file=@$DATA;type=text/csv" \
  -F "schema=<$HERE/adult-schema.json" \
  -F "name=adult" -F "epsilon=3" -F "delta=1e-9" | field id)
echo "   dataset $dataset_id"

echo "2. request a synthetic copy at epsilon 1 (Idempotency-Key makes a retry safe)"
location=$(curl -sSf -o /dev/null -D - "$URL/v1/jobs" \
  -H "Content-Type: application/json" -H "Idempotency-Key: quickstart-$dataset_id" \
  -d "{\"dataset_id\": \"$dataset_id\", \"epsilon\": 1, \"seed\": 42}" \
  | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
echo "   job at $location"

echo "3. poll until its validation gates have released it (dev-only policy by default)"
for _ in $(seq 1 600); do
  job=$(curl -sSf "$URL$location")
  status=$(echo "$job" | field status)
  echo "   $status $(echo "$job" | grep -o '"progress":[0-9.]*' | cut -d: -f2)%"
  case "$status" in
    released) break ;;
    rejected) echo "$job"; echo "   rejected by its gates: see $URL$location/report.html"; exit 1 ;;
    failed|cancelled) echo "$job"; exit 1 ;;
  esac
  sleep 1
done
[ "$status" = released ] || { echo "job did not finish in time"; exit 1; }
artifact_id=$(echo "$job" | field artifact_id)

echo "4. download the data, the signed manifest, the public key and the validation report into $OUT"
curl -sSf -o "$OUT/synthetic.csv" "$URL/v1/artifacts/$artifact_id/data?format=csv"
curl -sSf -o "$OUT/manifest.json" "$URL/v1/artifacts/$artifact_id"
curl -sSf -o "$OUT/signing-key.pem" "$URL/v1/signing-keys/current.pem"
curl -sSf -o "$OUT/report.html" "$URL$location/report.html"   # the gates' report (real data: not DP)
curl -sSf "$URL/v1/datasets/$dataset_id/budget" | grep -o '"remaining":{[^}]*}'

echo "5. verify offline"
pwsim verify "$OUT/synthetic.csv" "$OUT/manifest.json" --public-key "$OUT/signing-key.pem"
