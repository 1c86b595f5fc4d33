#!/usr/bin/env bash
# The training venv, one way for every caller (train.sh, `npm run models -- retrain`, the retrain
# integration test): .stack/training-venv with the pinned requirements, made by the project's one
# venv helper (tools/python-venv.sh), which prints the venv's python.
# Run it (`bash tools/training/training-venv.sh`) or source it and call ensure_training_venv.

ensure_training_venv() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  source "$root/tools/python-venv.sh"
  ensure_venv "$root/.stack/training-venv" "$root/tools/training/requirements.txt"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  ensure_training_venv
fi
