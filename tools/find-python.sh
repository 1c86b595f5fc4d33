# Sourced by the scripts that make Python venvs (training, the bench's peers): find_python prints a
# Python >= 3.12 (numpy 2.5 needs it), TRAINING_PYTHON first, then the usual names and pyenv installs.
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
  echo "needs Python >= 3.12 (set TRAINING_PYTHON)" >&2
  return 1
}
