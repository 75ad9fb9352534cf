"""The CLI through Typer's runner: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve import __version__
from llmserve.cli import app
from llmserve.errors import ExitCode

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    assert invoke("--version") == (0, f"llmserve {__version__}\n", "")


def test_tgi_dry_run_prints_one_pasteable_line() -> None:
    code, out, _ = invoke("tgi", "gpt2", "--dry-run")
    assert code == 0
    assert out.count("\n") == 1
    assert out.startswith("docker run --rm --name llmserve-tgi-gpt2-8080 ")
    assert out.rstrip().endswith(
        "ghcr.io/huggingface/text-generation-inference:3.3.7 --model-id gpt2 --hostname 0.0.0.0 --port 80"
    )


def test_tgi_custom_model_dry_run() -> None:
    code, out, _ = invoke("tgi", "my-org/custom-model", "--trust-remote-code", "--dry-run")
    assert code == 0
    assert out.rstrip().endswith(
        "--model-id my-org/custom-model --hostname 0.0.0.0 --port 80 --trust-remote-code"
    )


@pytest.mark.usefixtures("no_vllm")
def test_vllm_dry_run_without_vllm_installed_shows_the_portable_command() -> None:
    code, out, err = invoke("vllm", "Qwen/Qwen2.5-1.5B-Instruct", "--impl", "transformers", "--dry-run")
    assert code == 0
    assert (
        out
        == "vllm serve Qwen/Qwen2.5-1.5B-Instruct --host 127.0.0.1 --port 8000 --model-impl transformers\n"
    )
    assert "showing the portable command" in err


def test_a_dry_run_of_a_custom_vllm_image_says_which_form_it_assumed() -> None:
    args = ("vllm", "org/model", "--runtime", "docker", "--image", "myrepo/vllm:custom", "--dry-run")
    code, out, err = invoke(*args)
    assert code == 0
    assert "myrepo/vllm:custom org/model --host 0.0.0.0" in out
    assert err.count("\n") == 1
    assert (
        err.startswith("llmserve: note: image myrepo/vllm:custom names no vLLM version")
        and "--vllm-version" in err
    )
    code, out, err = invoke(*args, "--vllm-version", "0.10.0")
    assert code == 0
    assert "myrepo/vllm:custom --model org/model --host 0.0.0.0" in out
    assert "note:" not in err


@pytest.mark.usefixtures("no_vllm")
def test_vllm_json_prints_the_plan_and_starts_nothing() -> None:
    code, out, _ = invoke(
        "vllm",
        "Qwen/Qwen2.5-1.5B-Instruct",
        "--impl",
        "transformers",
        "--trust-remote-code",
        "--json",
    )
    assert code == 0
    plan = json.loads(out)
    assert plan["launch"]["argv"] == [
        "vllm", "serve", "Qwen/Qwen2.5-1.5B-Instruct", "--host", "127.0.0.1", "--port", "8000",
        "--model-impl", "transformers", "--trust-remote-code",
    ]  # fmt: skip
    assert plan["endpoint"] == "http://127.0.0.1:8000"
    assert plan["openai_base_url"] == "http://127.0.0.1:8000/v1"
    assert plan["served_model_name"] == "Qwen/Qwen2.5-1.5B-Instruct"


def test_engine_args_after_double_dash() -> None:
    code, out, _ = invoke("tgi", "gpt2", "--dry-run", "--", "--cuda-graphs", "0")
    assert code == 0
    assert out.rstrip().endswith("--port 80 --cuda-graphs 0")


def test_schema_is_json_schema_of_the_spec() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "ServeSpec"
    assert schema["additionalProperties"] is False
    assert {"engine", "model"} <= set(schema["required"])
    assert "api_key" in schema["properties"]


EXAMPLES = Path(__file__).parents[2] / "examples"


def test_example_spec_runs_dry() -> None:
    code, out, _ = invoke("run", str(EXAMPLES / "tgi-gpt2.yaml"), "--dry-run")
    assert code == 0
    assert "--model-id gpt2" in out


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_spec_file_and_cli_options_give_the_same_plan(tmp_path: Path, suffix: str) -> None:
    text = {
        ".yaml": (
            "engine: vllm\nmodel: Qwen/Qwen2.5-1.5B-Instruct\nport: 8100\ntrust_remote_code: true\n"
            "max_model_len: 4096\nenv:\n  FOO: bar\nvllm:\n  impl: transformers\n  version: 0.13.0\n"
        ),
        ".toml": (
            'engine = "vllm"\nmodel = "Qwen/Qwen2.5-1.5B-Instruct"\nport = 8100\ntrust_remote_code = true\n'
            'max_model_len = 4096\n[env]\nFOO = "bar"\n[vllm]\nimpl = "transformers"\nversion = "0.13.0"\n'
        ),
    }[suffix]
    spec_file = tmp_path / f"spec{suffix}"
    spec_file.write_text(text)
    _, from_file, _ = invoke("run", str(spec_file), "--json")
    _, from_options, _ = invoke(
        "vllm", "Qwen/Qwen2.5-1.5B-Instruct", "--port", "8100", "--trust-remote-code",
        "--max-model-len", "4096", "-e", "FOO=bar", "--impl", "transformers",
        "--vllm-version", "0.13.0", "--json",
    )  # fmt: skip
    assert json.loads(from_file) == json.loads(from_options)


def test_options_override_the_spec_file(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("engine: tgi\nmodel: gpt2\nport: 8100\ntgi:\n  max_input_tokens: 100\n")
    code, out, _ = invoke("run", str(spec_file), "--port", "8200", "--max-total-tokens", "200", "--dry-run")
    assert code == 0
    assert "-p 127.0.0.1:8200:80" in out
    assert "--max-input-tokens 100 --max-total-tokens 200" in out


def test_spec_file_model_path_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("engine: tgi\nmodel: ./models/tiny\nvolume: none\n")
    code, out, _ = invoke("run", str(spec_file), "--dry-run")
    assert code == 0
    assert f"-v {tmp_path}/models/tiny:/models/tiny:ro" in out


def test_hf_token_from_the_environment_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_supersecret")
    code, out, _ = invoke("tgi", "gpt2", "--dry-run")
    assert code == 0
    assert "hf_supersecret" not in out
    assert "-e 'HF_TOKEN=***'" in out


def test_api_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k-123\n")
    code, out, _ = invoke("tgi", "gpt2", "--api-key-file", str(key_file), "--json")
    assert code == 0
    assert "k-123" not in out
    assert json.loads(out)["launch"]["env"] == {"API_KEY": "***"}


BAD_INPUTS = [
    (["tgi", "gpt2", "--port", "70000"], ExitCode.USAGE, "port: 70000 is outside 1-65535"),
    (["tgi", "gpt2", "--port", "0"], ExitCode.USAGE, "port: 0 is outside 1-65535"),
    (
        ["tgi", "gpt2", "--host", "my-box"],
        ExitCode.USAGE,
        "host: 'my-box' is not an IP address; use 127.0.0.1",
    ),
    (["tgi", "not a model!"], ExitCode.USAGE, "model: 'not a model!' is neither a Hub id"),
    (["tgi", "./missing-dir"], ExitCode.USAGE, "model: './missing-dir' is not a directory"),
    (["tgi", "a/b/c"], ExitCode.USAGE, "model: 'a/b/c' is neither a Hub id"),
    (
        ["tgi", "gpt2", "--dtype", "float16", "-q", "awq"],
        ExitCode.USAGE,
        "cannot be combined with quantization",
    ),
    (
        ["tgi", "gpt2", "-q", "int3"],
        ExitCode.USAGE,
        "quantization: 'int3' is not a TGI method; use one of awq",
    ),
    (["vllm", "m", "-q", "eetq"], ExitCode.USAGE, "quantization: 'eetq' is not a vLLM method"),
    (["vllm", "m", "--impl", "onnx"], ExitCode.USAGE, "vllm.impl: input should be 'auto', 'vllm'"),
    (["tgi", "gpt2", "--dtype", "float32"], ExitCode.USAGE, "dtype: 'float32' is not a TGI dtype"),
    (
        ["vllm", "m", "--dtype", "fp16"],
        ExitCode.USAGE,
        "dtype: 'fp16' is not a vLLM dtype; use one of auto, half, float16, bfloat16, float, float32",
    ),
    (
        ["tgi", "gpt2", "--dtype", "half"],
        ExitCode.USAGE,
        "dtype: 'half' is not a TGI dtype; use one of auto, float16, bfloat16",
    ),
    (["tgi", "gpt2", "--dtype", "fp16"], ExitCode.USAGE, "dtype: 'fp16' is not a TGI dtype; use one of auto"),
    (
        ["tgi", "gpt2", "--max-input-tokens", "4096", "--max-total-tokens", "4096"],
        ExitCode.USAGE,
        "tgi.max_input_tokens: 4096 must be less than max_model_len (4096)",
    ),
    (
        ["tgi", "gpt2", "--max-input-tokens", "1000", "--max-batch-prefill-tokens", "500"],
        ExitCode.USAGE,
        "tgi.max_batch_prefill_tokens: 500 is less than tgi.max_input_tokens (1000)",
    ),
    (
        ["tgi", "gpt2", "--max-total-tokens", "9000", "--max-batch-total-tokens", "8000"],
        ExitCode.USAGE,
        "max_model_len: 9000 is more than tgi.max_batch_total_tokens (8000)",
    ),
    (
        ["tgi", "gpt2", "--gpus", "0,1", "--tp", "4"],
        ExitCode.USAGE,
        "tensor_parallel_size: 4 is more than the 2 GPU",
    ),
    (["tgi", "gpt2", "--gpus", "first"], ExitCode.USAGE, "gpus: 'first' is not a GPU selection"),
    (["tgi", "gpt2", "-q", "exl2", "--tp", "2"], ExitCode.USAGE, "exl2 models cannot be sharded"),
    (
        ["tgi", "gpt2", "--image", "ghcr.io/x/tgi:latest"],
        ExitCode.USAGE,
        "image: 'ghcr.io/x/tgi:latest' is not pinned; name a version tag, "
        "e.g. ghcr.io/huggingface/text-generation-inference:3.3.7",
    ),
    (  # each engine's hint names its own image
        ["vllm", "m", "--runtime", "docker", "--image", "vllm/vllm-openai:latest"],
        ExitCode.USAGE,
        "image: 'vllm/vllm-openai:latest' is not pinned; name a version tag, e.g. vllm/vllm-openai:v0.32.0",
    ),
    (
        ["vllm", "m", "--runtime", "docker", "--image", "Not An Image"],
        ExitCode.USAGE,
        "use [REGISTRY/]NAME:TAG, e.g. vllm/vllm-openai:v0.32.0",
    ),
    (["tgi", "gpt2", "--shm-size", "lots"], ExitCode.USAGE, "shm_size: 'lots' is not a size"),
    (["tgi", "gpt2", "-e", "NOVALUE"], ExitCode.USAGE, "--env 'NOVALUE' has no value"),
    (
        ["tgi", "gpt2", "-e", "1X=2"],
        ExitCode.USAGE,
        "env: '1X' is not an environment variable name",
    ),
    (
        ["tgi", "gpt2", "--pull", "sometimes"],
        ExitCode.USAGE,
        "pull: input should be 'always', 'missing' or 'never'",
    ),
    (
        ["tgi", "gpt2", "--lora", "name="],
        ExitCode.USAGE,
        "lora_adapters: 'name=' is not an adapter",
    ),
    (
        ["vllm", "m", "--vllm-version", "latest"],
        ExitCode.USAGE,
        "vllm.version: 'latest' is not a vLLM version",
    ),
    (
        ["vllm", "m", "--runtime", "k8s"],
        ExitCode.USAGE,
        "runtime: input should be 'docker' or 'process'",
    ),
    (["run", "missing.yaml"], ExitCode.USAGE, "spec file missing.yaml does not exist"),
    (
        ["tgi", "gpt2", "--api-key-file", "/nonexistent/key"],
        ExitCode.USAGE,
        "api_key: cannot read /nonexistent/key (No such file or directory)",
    ),
    (
        ["vllm", "m", "--vllm-python", "/nonexistent/python", "--dry-run"],
        ExitCode.ENVIRONMENT,
        "cannot import vLLM",
    ),
]


@pytest.mark.parametrize(
    ("args", "exit_code", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _, _ in BAD_INPUTS]
)
def test_bad_input_gives_one_line_and_its_exit_code(args: list[str], exit_code: int, message: str) -> None:
    code, out, err = (
        invoke(*args, "--dry-run") if "--dry-run" not in args and args[0] != "run" else invoke(*args)
    )
    assert code == exit_code
    assert out == ""
    assert message in err
    assert err.startswith("llmserve: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_spec_file_keys(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("engine: tgi\nmodel: gpt2\nmodle_id: x\ntgi:\n  max_input_token: 4\n")
    code, _, err = invoke("run", str(spec_file), "--dry-run")
    assert code == ExitCode.USAGE
    assert "modle_id: unknown key" in err
    assert "tgi.max_input_token: unknown key" in err


@pytest.mark.parametrize("text", ["engine: [tgi\n", "- just\n- a list\n"])
def test_unparsable_spec_file(tmp_path: Path, text: str) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text)
    code, _, err = invoke("run", str(spec_file), "--dry-run")
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1


def test_tgi_refuses_served_model_name_and_process_runtime(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("engine: tgi\nmodel: gpt2\nserved_model_name: g\nruntime: process\n")
    code, _, err = invoke("run", str(spec_file), "--dry-run")
    assert code == ExitCode.USAGE
    assert "runtime: 'process' is not available for TGI" in err


def test_debug_shows_a_traceback() -> None:
    result = runner.invoke(app, ["--debug", "tgi", "gpt2", "--port", "70000", "--dry-run"])
    assert result.exit_code != 0
    assert result.exception is not None


@settings(max_examples=80, deadline=None)
@given(
    option=st.sampled_from(
        [
            "--port",
            "--gpus",
            "--dtype",
            "-q",
            "--tp",
            "--max-model-len",
            "--shm-size",
            "--image",
            "-e",
            "--lora",
            "--host",
        ]
    ),
    value=st.text(min_size=0, max_size=12),
    model=st.text(min_size=1, max_size=20),
)
def test_no_input_ends_in_a_traceback(option: str, value: str, model: str) -> None:
    result = runner.invoke(app, ["tgi", model, option, value, "--dry-run"])
    assert result.exit_code in (ExitCode.OK, ExitCode.USAGE), result.output
    assert "Traceback" not in result.stderr
    if result.exit_code == ExitCode.USAGE:
        assert result.stderr.count("\n") >= 1


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda path: path.name)
def test_every_example_spec_is_valid(example: Path, isolated_environment: Path) -> None:
    (isolated_environment / ".cache" / "llmserve-dev" / "models" / "SmolLM2-135M-Instruct").mkdir(
        parents=True
    )
    result = runner.invoke(app, ["run", str(example), "--dry-run"])
    assert result.exit_code == 0, result.stderr
