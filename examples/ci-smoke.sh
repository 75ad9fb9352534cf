#!/usr/bin/env bash
# A CI smoke step: start a model server, prove it generates, use it, tear it down.
# Fails with llmserve's exit code (see the README's table) when any step fails.
set -euo pipefail
spec=${1:-examples/qwen.yaml}

llmserve run "$spec" --detach --smoke --json > server.json
name=$(python3 -c 'import json; print(json.load(open("server.json"))["name"])')
trap 'llmserve stop "$name"' EXIT

base=$(python3 -c 'import json; print(json.load(open("server.json"))["openai_base_url"])')
model=$(python3 -c 'import json; print(json.load(open("server.json"))["served_model_name"])')
curl -fsS "$base/chat/completions" -H 'Content-Type: application/json' \
  -d "{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Say hello.\"}], \"max_tokens\": 16}"
echo
