#!/usr/bin/env bash
# One way to make a pinned Python venv, for every venv the project keeps under .stack/ (training,
# the Evidently reference): `ensure_venv VENV REQUIREMENTS` creates VENV with a Python >= 3.12 when
# it is missing, installs REQUIREMENTS when they changed since the last install, and prints the
# venv's python. Run it (`bash tools/python-venv.sh VENV REQUIREMENTS`) or source it.
# Progress goes to stderr so that stdout is only the interpreter's path.

ensure_venv() {
  local venv="$1" requirements="$2" root stamp wanted python
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ -z "$venv" || ! -f "$requirements" ]]; then
    echo "usage: ensure_venv VENV REQUIREMENTS (no requirements file at '$requirements')" >&2
    return 1
  fi
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
  ensure_venv "${1:-}" "${2:-}"
fi
