"""One spec, either engine: `run --engine`, `explain`, and `convert` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import ExitCode

runner = CliRunner()
TGI_SPEC = """\
engine: tgi
model: gpt2
tensor_parallel_size: 2
quantization: bitsandbytes-nf4
max_model_len: 4096
tgi:
  max_concurrent_requests: 64
"""


@pytest.fixture
def tgi_spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(TGI_SPEC)
    return path


@pytest.mark.usefixtures("no_vllm")
def test_tgi_spec_runs_on_vllm_with_translations(tgi_spec: Path) -> None:
    result = runner.invoke(app, ["run", str(tgi_spec), "--engine", "vllm", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "vllm serve gpt2 --host 127.0.0.1 --port 8000 --tensor-parallel-size 2 --quantization bitsandbytes "
        "--max-model-len 4096 --max-num-seqs 64\n"
    )
    assert "quantization bitsandbytes-nf4 becomes bitsandbytes (approximate)" in result.stderr
    assert "tgi.max_concurrent_requests becomes --max-num-seqs (approximate)" in result.stderr


@pytest.mark.usefixtures("no_vllm")
def test_option_without_equivalent_is_refused_unless_lenient(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("engine: tgi\nmodel: gpt2\nmax_model_len: 4096\ntgi:\n  max_input_tokens: 1000\n")
    refused = runner.invoke(app, ["run", str(path), "--engine", "vllm", "--dry-run"])
    assert refused.exit_code == ExitCode.USAGE
    assert "tgi.max_input_tokens has no equivalent in vLLM" in refused.stderr
    assert "--lenient" in refused.stderr
    lenient = runner.invoke(app, ["run", str(path), "--engine", "vllm", "--lenient", "--dry-run"])
    assert lenient.exit_code == 0
    assert "warning: dropped tgi.max_input_tokens" in lenient.stderr


def test_vllm_spec_runs_on_tgi(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("engine: vllm\nmodel: m\nserved_model_name: friendly\nvllm:\n  enforce_eager: true\n")
    refused = runner.invoke(app, ["run", str(path), "--engine", "tgi", "--dry-run"])
    assert refused.exit_code == ExitCode.USAGE
    assert "served_model_name has no equivalent in TGI" in refused.stderr
    lenient = runner.invoke(app, ["run", str(path), "--engine", "tgi", "--lenient", "--dry-run"])
    assert lenient.exit_code == 0
    assert lenient.stdout.rstrip().endswith("--model-id m --hostname 0.0.0.0 --port 80 --cuda-graphs 0")


@pytest.mark.parametrize(
    ("dtype", "tgi_dtype", "note"),
    [
        ("half", "float16", "dtype half becomes float16 (the same type)"),
        ("float", None, "dropped dtype float has no equivalent in TGI (TGI knows float16 and bfloat16)"),
    ],
)
def test_vllms_other_dtype_names_move_to_tgi(dtype: str, tgi_dtype: str | None, note: str) -> None:
    from llmserve.translate import retarget

    data, notes = retarget({"engine": "vllm", "model": "m", "dtype": dtype}, "tgi", lenient=True)
    assert data.get("dtype") == tgi_dtype
    assert note in notes


@pytest.mark.usefixtures("no_vllm")
def test_explain_table(tgi_spec: Path) -> None:
    result = runner.invoke(app, ["explain", str(tgi_spec)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FIELD", "VALUE", "TGI", "VLLM", "MAPPING", "NOTE"]
    row = next(line for line in lines if line.startswith("tensor_parallel_size"))
    assert row.split()[:5] == ["tensor_parallel_size", "2", "--num-shard", "--tensor-parallel-size", "exact"]


@pytest.mark.usefixtures("no_vllm")
def test_explain_json_masks_secrets_and_names_the_version_rule(
    tgi_spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    result = runner.invoke(app, ["vllm", "m", "--vllm-version", "0.9.2", "--explain", "--json"])
    assert result.exit_code == 0
    assert "hf_secret_value" not in result.stdout
    rows = {row["field"]: row for row in json.loads(result.stdout)}
    assert rows["hf_token"]["value"] == "***"
    assert rows["(vLLM version)"]["vllm"] == "--task generate"
    assert rows["model"]["tgi"] == "--model-id"


def test_convert_writes_a_spec_that_runs(tmp_path: Path) -> None:
    output = tmp_path / "converted.yaml"
    line = (
        "docker run --gpus all --shm-size 1g -p 127.0.0.1:8080:80 -e HF_TOKEN=hf_SECRET "
        "ghcr.io/huggingface/text-generation-inference:3.3.7 --model-id gpt2 --num-shard 2"
    )
    result = runner.invoke(app, ["convert", "--to", "tgi", "-o", str(output), "--", *line.split()])
    assert result.exit_code == 0, result.stderr
    text = output.read_text()
    assert "hf_SECRET" not in text + result.stdout + result.stderr
    assert (
        "# run it: llmserve tgi gpt2 --host 127.0.0.1 --port 8080 --gpus all --tensor-parallel-size 2" in text
    )
    assert "hf_token: env:HF_TOKEN" in text
    assert not list(tmp_path.glob("*.partial"))


def test_convert_refuses_what_it_cannot_read() -> None:
    result = runner.invoke(app, ["convert", "--", "kubectl", "apply"])
    assert result.exit_code == ExitCode.USAGE
    assert "'kubectl' is not a command convert reads" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("engine: tgi\nmodel: gpt2\ntgi: 3\n", "tgi: must be a mapping"),
        ("engine: tgi\nmodel: gpt2\nengine_args: --seed 1\n", "engine_args: must be a list"),
    ],
)
def test_malformed_sections_are_refused_when_switching(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["run", str(path), "--engine", "vllm", "--dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert "Traceback" not in result.stderr
