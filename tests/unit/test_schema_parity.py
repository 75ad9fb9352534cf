"""The JSON Schema `llmserve schema` prints accepts exactly the spec values llmserve accepts.

Each generated spec sets one field (on either engine) to a value drawn from that field's good and
bad forms and from arbitrary JSON; the schema (with its formats checked) and the spec validation
must agree on it. Only what depends on this machine's files is left out: local model directories,
`~user` paths and `file:` secrets (the schema cannot know which files exist).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import SpecError
from llmserve.spec import ServeSpec, build_spec

FIELD_SAMPLES: dict[str, list[Any]] = {
    "engine": ["tgi", "vllm", "TGI", "", ["tgi"], None, 1],
    "model": ["gpt2", "org/name", "a..b", "org/--x", "gpt2\n", "a/b/c", "", "-x", "x" * 97, 5],
    "revision": [
        *("main", "v1.0", "abc123", "-main", "a b", "main\n", "", "refs/pr/1"),
        *("a/../../etc", "a//b", "a/", "a.", "a/.b", "a.lock", "/etc", "a@{1}"),
    ],
    "runtime": ["docker", "process", "k8s", None],
    "host": [
        "127.0.0.1",
        "0.0.0.0",
        "::",
        "::1",
        "localhost",
        "example.com",
        "",
        "1.2.3.4.5",
        "fe80::1%eth0",
        " ::1",
    ],
    "port": [1, 8080, 65535, 0, 65536, -1, True, "8080", 8080.0, 8080.5, None],
    "gpus": ["all", "none", "0", "0,1", "1,0", "0,0", "1,0,1", "10,1", "0, 1", "", "0,1\n", 0],
    "image": [
        "ghcr.io/huggingface/text-generation-inference:3.3.7",
        "vllm/vllm-openai:v0.32.0",
        "localhost:5000/x:1",
        "x@sha256:" + "a" * 64,
        "x:latest@sha256:" + "a" * 64,
        "x:latest",
        "x",
        ":",
        "x:1 --privileged",
        "x/UPPER:1",
        "UPPER/x:1",
        "x:1\n",
        "a" * 300 + ":1",
    ],
    "pull": ["always", "missing", "never", "Always", ""],
    "shm_size": ["1g", "512m", "1.5g", "1gb", "-1g", "1g\n", "", "10"],
    "volume": ["/data/hf", "none", "relative/dir", "/a:/b", "", "/a\n"],
    "tensor_parallel_size": [1, 2, 0, -1, True, 2.0, 2.5, "2"],
    "dtype": ["auto", "float16", "bfloat16", "float32", "float64", None],
    "quantization": ["awq", "eetq", "exl2", "gguf", "awq_marlin", "int3", None, ["awq"]],
    "max_model_len": [1, 4096, 0, -5, False, "4096", 4096.0],
    "trust_remote_code": [True, False, 1, "yes", None],
    "served_model_name": ["friendly", "-x", "a b", "", None, "a\nb"],
    "api_key": ["secret-key", "env:LLMSERVE_API_KEY", "env:", "env:1X", "", "a\nb", 5, None],
    "hf_token": ["hf_abc", "env:HF_TOKEN", "env:", "two\nlines", True],
    "env": [{"A": "1"}, {"1X": "a"}, {"A B": "x"}, {"A": 1}, {"A": "x\x00"}, {"": "x"}, [], "x"],
    "lora_adapters": [["a"], ["name=path"], ["name="], ["=x"], ["-x"], ["a b"], "a", [1]],
    "engine_args": [
        ["--cuda-graphs", "0"],
        ["--port", "1"],
        ["--host=0.0.0.0"],
        ["--hos"],
        ["--api_key", "S"],
        ["--api-server-count", "2"],
        ["-p8080"],
        ["-pp", "2"],
        ["--model-impl", "vllm"],
        "x",
        [1],
    ],
    "tgi": [
        {},
        {"max_input_tokens": 100},
        {"max_concurrent_requests": 0},
        {"max_batch_total_tokens": True},
        {"bogus": 1},
        "hello",
        None,
    ],
    "vllm": [
        {},
        {"impl": "transformers"},
        {"impl": "onnx"},
        {"version": "0.13.0"},
        {"version": "0.13.0garbage"},
        {"version": "0.13.0\n"},
        {"gpu_memory_utilization": 0.9},
        {"gpu_memory_utilization": 1.5},
        {"gpu_memory_utilization": 1},
        {"enforce_eager": 1},
        {"cpu_kvcache_space": 4},
        {"python": "/usr/bin/python3"},
        {"python": ""},
    ],
    "unknown_key": ["x"],
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


def _machine_dependent(field: str, value: Any) -> bool:
    """Values whose validity depends on this machine's files, not on their form."""
    if not isinstance(value, str):
        return False
    if field == "model":
        return value.startswith(("/", ".", "~"))  # a path: its directory must exist
    if field == "volume":
        return value.startswith("~")
    return field in ("api_key", "hf_token") and value.startswith("file:")


@pytest.fixture(scope="module")
def schema_validator() -> Draft202012Validator:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _accepted_by_llmserve(data: dict[str, Any], base_dir: Path) -> bool:
    try:
        build_spec(data, base_dir=base_dir)
    except SpecError:
        return False
    return True


def _check(validator: Draft202012Validator, field: str, value: Any, engine: str, base_dir: Path) -> None:
    if _machine_dependent(field, value):
        return
    data: dict[str, Any] = {"engine": engine, "model": "gpt2", field: value}
    by_schema = validator.is_valid(data)
    by_llmserve = _accepted_by_llmserve(data, base_dir)
    assert by_schema == by_llmserve, (
        f"{field}={value!r} on {engine}: schema {by_schema}, llmserve {by_llmserve}"
    )


CASES = [
    (field, value, engine)
    for field, samples in FIELD_SAMPLES.items()
    for value in samples
    for engine in ("tgi", "vllm")
]


@pytest.mark.parametrize(("field", "value", "engine"), CASES, ids=[f"{f}={v!r:.30}-{e}" for f, v, e in CASES])
def test_schema_and_llmserve_agree_on_each_sample(
    schema_validator: Draft202012Validator, field: str, value: Any, engine: str, tmp_path: Path
) -> None:
    _check(schema_validator, field, value, engine, tmp_path)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(sorted(ServeSpec.model_fields)),
    value=json_values,
    engine=st.sampled_from(["tgi", "vllm"]),
)
def test_schema_and_llmserve_agree_on_any_value(
    schema_validator: Draft202012Validator, field: str, value: Any, engine: str, tmp_path: Path
) -> None:
    _check(schema_validator, field, value, engine, tmp_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    section=st.sampled_from(["tgi", "vllm"]),
    key=st.sampled_from(["max_input_tokens", "max_concurrent_requests", "impl", "version", "gpu_memory_utilization",
                         "enforce_eager", "cpu_kvcache_space", "python"]),
    value=json_values,
    engine=st.sampled_from(["tgi", "vllm"]),
)  # fmt: skip
def test_schema_and_llmserve_agree_inside_sections(
    schema_validator: Draft202012Validator, section: str, key: str, value: Any, engine: str, tmp_path: Path
) -> None:
    _check(schema_validator, section, {key: value}, engine, tmp_path)
