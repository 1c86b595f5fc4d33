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

# numpy 2.5 needs Python >= 3.12; TRAINING_PYTHON picks a specific interpreter.
find_python() {
  local candidate candidates=("${TRAINING_PYTHON:-}" python3.13 python3.12 python3)
  # pyenv installs that are not the active version are not on PATH.
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.1[2-9]*/bin/python3)
  fi
  for candidate in "${candidates[@]}"; do
    [[ -n "$candidate" ]] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "train.sh: needs Python >= 3.12 (set TRAINING_PYTHON)" >&2
  return 1
}

if [[ ! -x "$venv/bin/python" ]]; then
  python="$(find_python)"
  echo "creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

mkdir -p "$data"
for pipeline in payments iris; do
  "$node" "$here/export-training-data.ts" --pipeline "$pipeline" --out "$data/$pipeline.csv"
done

"$venv/bin/python" "$here/train.py" --data "$data" --models services/inference/models payments iris
# The artifacts are committed, so they are kept in the repository's formatting (deterministic too).
"$root/node_modules/.bin/biome" format --write services/inference/models
"$node" "$here/verify-node.ts" "$data/payments-verify.json" "$data/iris-verify.json"

echo "models trained and verified in $((SECONDS - started)) s"
