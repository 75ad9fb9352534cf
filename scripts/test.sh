#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then lint, types and
# every test (unit, Docker tier, vLLM tier). Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
say "installing llmserve and its test tools into .venv"
.venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true

eval "$("$root/scripts/setup-test-env.sh")"

say "ruff"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
say "mypy --strict"
.venv/bin/mypy
say "pytest"
.venv/bin/pytest "$@"
