"""Random input from the whole input space: spec files (YAML, TOML, arbitrary text), argv, convert lines.

Whatever comes in, llmserve answers with a result or a documented exit code and one clean error
line: never a traceback. The strategies draw arbitrary text and arbitrary YAML/TOML structures,
seeded with the spec's own keys and values so that deep paths (engine switching, sections,
secrets, paths) are reached too.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.engines.flags import TGI_FLAGS, VLLM_FLAGS
from llmserve.errors import ExitCode
from llmserve.spec import ServeSpec, TgiOptions, VllmOptions

runner = CliRunner()
FUZZ = settings(
    max_examples=int(os.environ.get("LLMSERVE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DOCUMENTED = {int(code) for code in ExitCode}

KEYS = [*ServeSpec.model_fields, *TgiOptions.model_fields, *VllmOptions.model_fields]
SEED_VALUES = [
    "tgi", "vllm", "gpt2", "org/model", "awq", "int3", "float32", "auto", "transformers", "docker",
    "process", "all", "none", "0,1", "0,0", "1g", "env:", "env:HF_TOKEN", "file:", "file:/nonexistent",
    "~nouser/x", "x" * 300, "/", ".", "..", "-", "--port", "--host=0.0.0.0", "--api-key", "0.13.0",
    "0.13.0garbage", "tgi:3.3.7", ":", "latest", "/a:/b", "127.0.0.1", "0.0.0.0", "::1", "\n", "",
]  # fmt: skip
texts = st.text(max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    texts,
    st.sampled_from(SEED_VALUES),
)
keys = st.one_of(st.sampled_from(KEYS), texts)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=12,
)
spec_data = st.one_of(
    st.dictionaries(keys, values, max_size=8),
    st.fixed_dictionaries(
        {"engine": st.one_of(st.sampled_from(["tgi", "vllm"]), values), "model": values},
        optional={key: values for key in ServeSpec.model_fields if key not in ("engine", "model")},
    ),
    values,
)
SWITCHES = st.sampled_from(
    [
        [],
        ["--engine", "vllm"],
        ["--engine", "tgi"],
        ["--engine", "vllm", "--lenient"],
        ["--engine", "tgi", "--lenient"],
    ]
)
OPTIONS = sorted(
    {
        "--port", "--host", "--gpus", "--tp", "--dtype", "-q", "--max-model-len", "--revision",
        "--trust-remote-code", "--served-model-name", "--api-key-file", "--hf-token-file", "-e",
        "--lora", "--image", "--pull", "--shm-size", "--volume", "--runtime", "--impl",
        "--vllm-version", "--vllm-python", "--gpu-memory-utilization", "--enforce-eager",
        "--cpu-kvcache-space", "--max-input-tokens", "--max-batch-prefill-tokens",
        "--max-batch-total-tokens", "--max-concurrent-requests", "--json", "--explain", "--model",
        "--engine", "--lenient", "--", "-p",
    }
)  # fmt: skip
argv_tokens = st.one_of(st.sampled_from(OPTIONS), st.sampled_from(SEED_VALUES), texts)


def assert_clean(result: Any, *, allowed: set[int] = DOCUMENTED) -> None:
    """A documented exit code, and on failure exactly one error line (after any warnings)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # raised where it happened: Hypothesis tells each place apart
    assert result.exit_code in allowed, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        lines = result.stderr.splitlines()
        assert lines, "an error must say what is wrong"
        assert lines[-1].startswith("llmserve: error: "), result.stderr
        assert all(line.startswith("llmserve: ") for line in lines), result.stderr
        assert sum(line.startswith("llmserve: error: ") for line in lines) == 1, result.stderr


def _toml_value(value: Any) -> str | None:
    """TOML for a value (None has no TOML form: the caller leaves the key out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        items = [_toml_value(item) for item in value]
        return "[" + ", ".join(item for item in items if item is not None) + "]"
    pairs = [(json.dumps(str(key)), _toml_value(item)) for key, item in value.items()]
    return "{" + ", ".join(f"{key} = {item}" for key, item in pairs if item is not None) + "}"


def _toml(data: Any) -> str:
    if not isinstance(data, dict):
        return f"value = {_toml_value(data) or 0}\n"
    lines = [
        f"{json.dumps(str(key))} = {_toml_value(value)}" for key, value in data.items() if value is not None
    ]
    return "\n".join(lines) + "\n"


def _run_file(name: str, content: str | bytes, extra: list[str], *, explain: bool = False) -> Any:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        command = ["explain", str(path)] if explain else ["run", str(path), "--dry-run"]
        extra = [word for word in extra if word not in ("--lenient",)] if explain else extra
        return runner.invoke(app, [*command, *extra])


@pytest.mark.usefixtures("no_vllm")
@FUZZ
@given(data=spec_data, extra=SWITCHES, explain=st.booleans())
def test_any_yaml_spec_gives_a_plan_or_one_line(data: Any, extra: list[str], explain: bool) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    assert_clean(_run_file("spec.yaml", text, extra, explain=explain))


@pytest.mark.usefixtures("no_vllm")
@FUZZ
@given(data=spec_data, extra=SWITCHES)
def test_any_toml_spec_gives_a_plan_or_one_line(data: Any, extra: list[str]) -> None:
    assert_clean(_run_file("spec.toml", _toml(data), extra))


@pytest.mark.usefixtures("no_vllm")
@FUZZ
@given(
    content=st.one_of(st.text(), st.binary()),
    name=st.one_of(
        st.sampled_from(["spec.yaml", "spec.toml", "spec.yml"]), st.text(min_size=1, max_size=300)
    ),
    extra=SWITCHES,
)
def test_any_spec_file_text_gives_a_plan_or_one_line(
    content: str | bytes, name: str, extra: list[str]
) -> None:
    safe_name = name.replace("/", "_").replace("\x00", "_")
    if safe_name in (".", ".."):
        safe_name = "spec.yaml"
    try:
        result = _run_file(safe_name, content, extra)
    except OSError:  # a name this file system cannot hold: nothing for llmserve to read
        return
    assert_clean(result)


@pytest.mark.usefixtures("no_vllm")
@FUZZ
@given(
    command=st.sampled_from(["tgi", "vllm", "run", "explain"]),
    model=st.one_of(texts, st.sampled_from(SEED_VALUES)),
    tokens=st.lists(argv_tokens, max_size=8),
)
def test_any_argv_gives_a_plan_or_one_line(command: str, model: str, tokens: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        before = set(os.listdir(directory))
        cwd = os.getcwd()
        os.chdir(directory)
        try:
            # --dry-run comes first: a `--` among the tokens must not turn it into an engine argument.
            dry_run = [] if command == "explain" else ["--dry-run"]
            result = runner.invoke(app, [command, *dry_run, model, *tokens])
        finally:
            os.chdir(cwd)
        assert set(os.listdir(directory)) == before
    assert_clean(result)


convert_words = st.one_of(
    st.sampled_from(
        [
            "docker",
            "run",
            "vllm",
            "serve",
            "text-generation-launcher",
            "python",
            "-m",
            "vllm.entrypoints.openai.api_server",
            "ghcr.io/huggingface/text-generation-inference:3.3.7",
            "vllm/vllm-openai:v0.13.0",
            "-p",
            "-v",
            "-e",
            "--gpus",
            "--shm-size",
            "--rm",
            "--",
            "HF_TOKEN=x",
            "MODEL_ID=gpt2",
            "NUM_SHARD=2",
            "gpt2",
            "'",
            '"',
            "\\",
        ]
    ),
    st.sampled_from([f"--{name}" for name in (*TGI_FLAGS, *VLLM_FLAGS)]),
    st.sampled_from(SEED_VALUES),
    texts,
)


@FUZZ
@given(
    words=st.lists(convert_words, max_size=12),
    as_line=st.booleans(),
    target=st.sampled_from([[], ["--to", "tgi"], ["--to", "vllm"]]),
)
def test_any_convert_line_gives_a_spec_or_one_line(
    words: list[str], as_line: bool, target: list[str]
) -> None:
    words_after = [*target, "--", *words] if words else [*target, ""]
    args = [*target, " ".join(words)] if as_line else words_after
    assert_clean(runner.invoke(app, ["convert", *args]), allowed={0, int(ExitCode.USAGE)})


@FUZZ
@given(line=st.text(max_size=200), target=st.sampled_from([[], ["--to", "tgi"]]))
def test_any_convert_text_gives_a_spec_or_one_line(line: str, target: list[str]) -> None:
    assert_clean(runner.invoke(app, ["convert", *target, line]), allowed={0, int(ExitCode.USAGE)})


paths = st.one_of(
    st.sampled_from(SEED_VALUES),
    st.text(alphabet="~/.-_ax\n", max_size=12),
    st.builds(
        lambda head, size: head + "x" * size,
        st.sampled_from(["", "/", "./", "~", "org/"]),
        st.integers(0, 400),
    ),
    texts,
)


@pytest.mark.usefixtures("no_vllm")
@FUZZ
@given(
    value=paths,
    place=st.sampled_from(
        ["model argument", "--volume", "--api-key-file", "model:", "volume:", "hf_token:", "path"]
    ),
)
def test_any_path_like_value_gives_a_plan_or_one_line(value: str, place: str) -> None:
    """Model ids, directories and files reach the file system: its errors must become one line too."""
    with tempfile.TemporaryDirectory() as directory:
        spec = Path(directory) / "spec.yaml"
        field = {"model:": "model", "volume:": "volume", "hf_token:": "hf_token"}.get(place)
        data: dict[str, str] = {"engine": "tgi", "model": "gpt2"}
        if field is not None:
            data[field] = f"file:{value}" if field == "hf_token" else value
        spec.write_text(yaml.safe_dump(data))
        if place == "model argument":
            args = ["tgi", "--dry-run", value]
        elif place in ("--volume", "--api-key-file"):
            args = ["tgi", "--dry-run", "gpt2", place, value]
        elif place == "path":
            args = ["run", "--dry-run", str(Path(directory) / value)] if value else ["run", "--dry-run", ""]
        else:
            args = ["run", "--dry-run", str(spec)]
        result = runner.invoke(app, args)
    assert_clean(result)
