#!/usr/bin/env bash
# Makes the peers' venv (.stack/peers-venv) with the pinned requirements, once; prints its python.
# Every package is a PyPI wheel (confluent-kafka's bundles librdkafka), so nothing is built.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.stack/peers-venv"
requirements="$root/load-tests/peers/requirements.txt"
source "$root/tools/find-python.sh"

if [[ ! -x "$venv/bin/python" ]]; then
  python="$(find_python)"
  echo "creating $venv with $("$python" --version)" >&2
  "$python" -m venv "$venv"
fi
# pip is quick when everything is installed already; the marker skips it altogether.
marker="$venv/.requirements"
if ! cmp -s "$requirements" "$marker"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$marker"
fi
echo "$venv/bin/python"
