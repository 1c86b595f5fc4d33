#!/usr/bin/env bash
# Re-trains every model from scratch: a Python venv with the pinned requirements, training data
# exported by the transformer's own TypeScript code, train.py, then the check in onnxruntime-node.
# Writes services/inference/models/<pipeline>/1/*; scratch files go to .stack/ (git-ignored).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
here=tools/training
venv=.stack/training-venv
data=.stack/training-data
node="$root/node_modules/.bin/node"
[[ -x "$node" ]] || node=node
started=$SECONDS

# The venv as every trainer gets it (numpy 2.5 needs Python >= 3.12; TRAINING_PYTHON picks one).
source "$root/tools/training/training-venv.sh"
ensure_training_venv >/dev/null

mkdir -p "$data"
for pipeline in payments iris; do
  "$node" "$here/export-training-data.ts" --pipeline "$pipeline" --out "$data/$pipeline.csv"
done

"$venv/bin/python" "$here/train.py" --data "$data" --models services/inference/models payments iris
# The artifacts are committed, so they are kept in the repository's formatting (deterministic too).
"$root/node_modules/.bin/biome" format --write services/inference/models
"$node" "$here/verify-node.ts" "$data/payments-verify.json" "$data/iris-verify.json"

echo "models trained and verified in $((SECONDS - started)) s"
