"""Real-world TGI and vLLM command lines: the spec each becomes, and its rendering for the other engine."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmserve.conversion_output import converted
from llmserve.convert import convert
from llmserve.engines import render
from llmserve.errors import SpecError
from llmserve.options import command_line
from llmserve.plan import ContainerLaunch
from llmserve.spec import build_spec
from llmserve.translate import retarget

TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.7"
DOCKER_TGI = f"docker run --gpus all --shm-size 1g -p 8080:80 -v /srv/hf:/data {TGI_IMAGE}"
TGI_BASE = {"engine": "tgi", "image": TGI_IMAGE, "gpus": "all", "port": 8080}

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "TGI's canonical line",
        f"{DOCKER_TGI} --model-id gpt2",
        {**TGI_BASE, "shm_size": "1g", "volume": "/srv/hf", "model": "gpt2"},
        "llmserve vllm gpt2 --port 8080 --gpus all --shm-size 1g --volume /srv/hf",
    ),
    (
        "TGI sharded",
        f"{DOCKER_TGI} --model-id meta-llama/Llama-3.1-70B-Instruct --num-shard 4 --max-total-tokens 8192",
        {**TGI_BASE, "shm_size": "1g", "volume": "/srv/hf", "model": "meta-llama/Llama-3.1-70B-Instruct",
         "tensor_parallel_size": 4, "max_model_len": 8192},
        "llmserve vllm meta-llama/Llama-3.1-70B-Instruct --port 8080 --gpus all --tensor-parallel-size 4 "
        "--max-model-len 8192 --shm-size 1g --volume /srv/hf",
    ),
    (
        "TGI quantized",
        f"docker run --gpus all -p 8080:80 {TGI_IMAGE} --model-id TheBloke/Llama-2-7B-GPTQ --quantize gptq",
        {**TGI_BASE, "model": "TheBloke/Llama-2-7B-GPTQ", "quantization": "gptq"},
        "llmserve vllm TheBloke/Llama-2-7B-GPTQ --port 8080 --gpus all --quantization gptq",
    ),
    (
        "TGI gated model with HF_TOKEN",
        "docker run --gpus '\"device=0,1\"' -e HF_TOKEN=hf_SECRET123 -p 127.0.0.1:9000:80 "
        f"{TGI_IMAGE} --model-id meta-llama/Llama-3.1-8B-Instruct --num-shard 2",
        {"engine": "tgi", "image": TGI_IMAGE, "gpus": "0,1", "port": 9000, "host": "127.0.0.1",
         "hf_token": "env:HF_TOKEN", "model": "meta-llama/Llama-3.1-8B-Instruct", "tensor_parallel_size": 2},
        "llmserve vllm meta-llama/Llama-3.1-8B-Instruct --host 127.0.0.1 --port 9000 --gpus 0,1 "
        "--tensor-parallel-size 2",
    ),
    (
        "TGI local model volume",
        f"docker run --gpus all -p 8080:80 -v /srv/models:/models {TGI_IMAGE} --model-id /models/my-model "
        "--trust-remote-code",
        {**TGI_BASE, "model": "/srv/models/my-model", "trust_remote_code": True},
        "llmserve vllm /srv/models/my-model --port 8080 --gpus all --trust-remote-code",
    ),
    (
        "TGI LoRA adapters",
        f"docker run --gpus all -p 8080:80 {TGI_IMAGE} --model-id mistralai/Mistral-7B-v0.1 "
        "--lora-adapters predibase/customer_support,predibase/magicoder",
        {**TGI_BASE, "model": "mistralai/Mistral-7B-v0.1",
         "lora_adapters": ["predibase/customer_support", "predibase/magicoder"]},
        "llmserve vllm mistralai/Mistral-7B-v0.1 --port 8080 --gpus all --lora predibase/customer_support "
        "--lora predibase/magicoder",
    ),
    (
        "TGI API key",
        f"docker run --gpus all -p 8080:80 {TGI_IMAGE} --model-id gpt2 --api-key SECRETKEY42",
        {**TGI_BASE, "model": "gpt2", "api_key": "env:LLMSERVE_API_KEY"},
        "llmserve vllm gpt2 --port 8080 --gpus all",
    ),
    (
        "TGI launcher with its environment variables",
        "MODEL_ID=gpt2 NUM_SHARD=2 QUANTIZE=awq MAX_TOTAL_TOKENS=4096 text-generation-launcher --port 8080",
        {"engine": "tgi", "model": "gpt2", "tensor_parallel_size": 2, "quantization": "awq", "max_model_len": 4096},
        "llmserve vllm gpt2 --tensor-parallel-size 2 --quantization awq --max-model-len 4096",
    ),
    (
        "vLLM's Transformers backend (the seed line)",
        "vllm serve Qwen/Qwen2.5-1.5B-Instruct --model-impl transformers --trust-remote-code",
        {"engine": "vllm", "model": "Qwen/Qwen2.5-1.5B-Instruct", "vllm": {"impl": "transformers"},
         "trust_remote_code": True},
        "llmserve tgi Qwen/Qwen2.5-1.5B-Instruct --trust-remote-code",
    ),
    (
        "vLLM's docker image",
        "docker run --gpus all -v /root/.cache/huggingface:/root/.cache/huggingface --env HF_TOKEN "
        "-p 8000:8000 --ipc=host vllm/vllm-openai:v0.11.0 --model mistralai/Mistral-7B-v0.1",
        {"engine": "vllm", "image": "vllm/vllm-openai:v0.11.0", "gpus": "all", "port": 8000,
         "volume": "/root/.cache/huggingface", "hf_token": "env:HF_TOKEN", "model": "mistralai/Mistral-7B-v0.1"},
        "llmserve tgi mistralai/Mistral-7B-v0.1 --port 8000 --gpus all --volume /root/.cache/huggingface",
    ),
    (
        "vLLM LoRA modules",
        "vllm serve meta-llama/Llama-2-7b-hf --enable-lora --lora-modules sql-lora=/adapters/sql "
        "other=/adapters/other --max-model-len 4096",
        {"engine": "vllm", "model": "meta-llama/Llama-2-7b-hf",
         "lora_adapters": ["sql-lora=/adapters/sql", "other=/adapters/other"], "max_model_len": 4096},
        "llmserve tgi meta-llama/Llama-2-7b-hf --max-model-len 4096 --lora sql-lora=/adapters/sql "
        "--lora other=/adapters/other",
    ),
    (
        "vLLM tensor parallel, quantized, with an API key",
        "vllm serve Qwen/Qwen2.5-7B-Instruct -tp 2 --api-key SECRETKEY42 --dtype bfloat16 -q awq --max-num-seqs 32",
        {"engine": "vllm", "model": "Qwen/Qwen2.5-7B-Instruct", "tensor_parallel_size": 2,
         "api_key": "env:LLMSERVE_API_KEY", "dtype": "bfloat16", "quantization": "awq",
         "engine_args": ["--max-num-seqs", "32"]},
        "llmserve tgi Qwen/Qwen2.5-7B-Instruct --tensor-parallel-size 2 --quantization awq "
        "-- --max-concurrent-requests 32",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "spec", "other"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_line_to_spec_and_to_the_other_engine(line: str, spec: dict[str, Any], other: str) -> None:
    conversion = convert([line])
    assert conversion.data == spec
    assert conversion.unknown == []
    target = "vllm" if spec["engine"] == "tgi" else "tgi"
    moved, _ = retarget(conversion.data, target, lenient=True)
    assert command_line(moved) == other


def test_words_after_double_dash_equal_one_quoted_line() -> None:
    line = f"{DOCKER_TGI} --model-id gpt2 --num-shard 2"
    assert convert(line.split()).data == convert([line]).data


def test_unknown_flags_are_reported_by_name() -> None:
    conversion = convert(
        [f"docker run --frobnicate -p 8080:80 {TGI_IMAGE} --model-id gpt2 --bogus 3 --also-bogus"]
    )
    assert conversion.unknown == ["docker --frobnicate", "--bogus 3", "--also-bogus"]
    text, notes = converted([f"{DOCKER_TGI} --model-id gpt2 --bogus 3"], "vllm")
    assert "unknown flag --bogus 3: not converted" in notes
    assert "# unknown flag --bogus 3: not converted" in text


@pytest.mark.parametrize(
    "line",
    [
        f"docker run -e HF_TOKEN=hf_SECRET_abc -p 8080:80 {TGI_IMAGE} --model-id gpt2 --api-key SECRET_key_9",
        "HF_TOKEN=hf_SECRET_abc vllm serve gpt2 --api-key SECRET_key_9",
        "API_KEY=SECRET_key_9 HUGGING_FACE_HUB_TOKEN=hf_SECRET_abc text-generation-launcher --model-id gpt2",
        f"docker run -e NGROK_AUTHTOKEN=x -p 8080:80 {TGI_IMAGE} --model-id gpt2 --ngrok-authtoken SECRET_key_9",
    ],
)
@pytest.mark.parametrize("target", ["tgi", "vllm"])
def test_secrets_never_reach_the_spec_or_command(line: str, target: str) -> None:
    text, notes = converted([line], target)
    for secret in ("hf_SECRET_abc", "SECRET_key_9"):
        assert secret not in text
        assert all(secret not in note for note in notes)


def test_secret_reference_resolves_at_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    conversion = convert([f"docker run -e HF_TOKEN=hf_x -p 8080:80 {TGI_IMAGE} --model-id gpt2"])
    spec = build_spec(conversion.data)  # the reference needs no variable until launch
    assert spec.secret_reference("hf_token") == "env:HF_TOKEN"
    with pytest.raises(SpecError, match="hf_token: environment variable HF_TOKEN is not set"):
        spec.with_secrets_resolved()
    monkeypatch.setenv("HF_TOKEN", "hf_from_the_environment")
    resolved = spec.with_secrets_resolved().hf_token
    assert resolved is not None
    assert resolved.get_secret_value() == "hf_from_the_environment"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ls -la", "'ls' is not a command convert reads"),
        ("docker run --rm", "docker run names no image"),
        ("docker run -p 80:80 nginx:1.27", "image nginx:1.27 is neither TGI's nor vLLM's"),
        ("vllm serve --port 8000", "the vLLM line names no model"),
        ("text-generation-launcher --model-id", "--model-id needs a value"),
    ],
)
def test_lines_convert_cannot_read(line: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        convert([line])


# Round trip: a TGI line, converted to a spec and rendered back for TGI, gives the same flags.
VALUES: dict[str, Any] = {
    "revision": st.sampled_from(["main", "refs/pr/2", "abc123"]),
    "num-shard": st.integers(1, 8).map(str),
    "quantize": st.sampled_from(["awq", "gptq", "eetq", "fp8", "bitsandbytes-nf4"]),
    "max-concurrent-requests": st.integers(1, 512).map(str),
    "max-total-tokens": st.integers(2049, 8192).map(str),
    "max-input-tokens": st.integers(1, 2048).map(str),
    "max-batch-prefill-tokens": st.integers(2048, 4096).map(str),
    "max-batch-total-tokens": st.integers(8192, 65536).map(str),
    "lora-adapters": st.sampled_from(["org/a", "org/a,org/b", "name=/adapters/x"]),
    "speculate": st.integers(1, 4).map(str),
    "cuda-graphs": st.sampled_from(["0", "1,2,4"]),
    "usage-stats": st.sampled_from(["on", "off", "no-stack"]),
}


@st.composite
def tgi_lines(draw: st.DrawFn) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=8))
    if "quantize" in chosen and draw(st.booleans()):
        chosen.remove("quantize")
    args = ["--model-id", draw(st.sampled_from(["gpt2", "org/model-1"]))]
    for name in chosen:
        args += [f"--{name}", draw(VALUES[name])]
    for switch in ("trust-remote-code", "disable-custom-kernels", "json-output"):
        if draw(st.booleans()):
            args.append(f"--{switch}")
    if "exl2" not in args and "quantize" not in chosen and draw(st.booleans()):
        args += ["--dtype", draw(st.sampled_from(["float16", "bfloat16"]))]
    return args


def flag_pairs(args: list[str]) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for word in args:
        if word.startswith("--"):
            pairs.append((word, None))
        else:
            pairs[-1] = (pairs[-1][0], word)
    return sorted(pairs, key=lambda pair: (pair[0], pair[1] or ""))


@settings(max_examples=150, deadline=None)
@given(args=tgi_lines())
def test_round_trip_through_a_spec_gives_the_same_tgi_flags(args: list[str]) -> None:
    line = [
        "docker",
        "run",
        "--gpus",
        "all",
        "--shm-size",
        "2g",
        "-p",
        "8081:80",
        "-v",
        "/srv/hf:/data",
        TGI_IMAGE,
    ]
    conversion = convert([*line, *args])
    try:
        spec = build_spec(conversion.data)
    except SpecError:
        return  # a combination TGI itself would refuse (e.g. token limits out of order)
    plan = render(spec)
    assert isinstance(plan.launch, ContainerLaunch)
    rendered = [word for word in plan.launch.command]
    managed = {"--hostname", "--port"}
    expected = [pair for pair in flag_pairs(args) if pair[0] not in managed]
    # TGI's legacy --max-input-length and --max-input-tokens land on one field, so compare after mapping.
    assert [p for p in flag_pairs(rendered) if p[0] not in managed] == expected
    assert plan.launch.gpus == "all"
    assert plan.launch.shm_size == "2g"
    assert (plan.host, plan.port) == ("127.0.0.1", 8081)
    assert {m.source: m.target for m in plan.launch.mounts} == {"/srv/hf": "/data"}


WORDS = st.sampled_from(
    ["-p", "8080:80", "abc:80", "-e", "HF_TOKEN", "A=b", "-v", "/x:/data", "--gpus", "all", "--rm",
     "--model-id", "gpt2", "--num-shard", "2", "x", "--lora-modules", "a=/b", "-tp", "--model",
     "--api-key", "k", "--unknown", "=", "--max-model-len=abc", TGI_IMAGE, "vllm/vllm-openai:v0.11.0"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    head=st.sampled_from(
        [["docker", "run"], ["vllm", "serve"], ["text-generation-launcher"], ["MODEL_ID=gpt2"]]
    ),
    words=st.lists(WORDS, max_size=10),
)
def test_any_line_converts_or_says_why(head: list[str], words: list[str]) -> None:
    # A SpecError is one line naming what is wrong; anything else would end in a traceback.
    with contextlib.suppress(SpecError):
        converted([*head, *words], "vllm")
