#!/usr/bin/env bash
# The training venv, one way for every caller (train.sh, `npm run models -- retrain`, the retrain
# integration test): creates .stack/training-venv with a Python >= 3.12 when it is missing, installs
# the pinned requirements when they changed since the last install, and prints the venv's python.
# Run it (`bash tools/training/training-venv.sh`) or source it and call ensure_training_venv.
# Progress goes to stderr so that stdout is only the interpreter's path.

ensure_training_venv() {
  local root venv requirements stamp wanted python
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  venv="$root/.stack/training-venv"
  requirements="$root/tools/training/requirements.txt"
  # The stamp records the requirements the venv was last installed from: a re-run with the same pins
  # skips pip (several seconds even when everything is installed), a changed pin re-installs.
  stamp="$venv/.requirements.sha256"
  source "$root/tools/find-python.sh"
  if [[ ! -x "$venv/bin/python" ]]; then
    python="$(find_python)" || return 1
    echo "creating $venv with $("$python" --version)" >&2
    "$python" -m venv "$venv" >&2 || return 1
  fi
  wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    echo "installing $requirements into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || return 1
    echo "$wanted" >"$stamp"
  fi
  echo "$venv/bin/python"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  ensure_training_venv
fi
