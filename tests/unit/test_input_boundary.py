"""The input boundary's behaviour beyond refusing: references, warnings, wrapping, atomic writes."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import ExitCode, SpecError
from llmserve.explain import COLUMN_WIDTH, Row, table
from llmserve.specfile import read_spec_file

runner = CliRunner()
REFERENCES = "engine: vllm\nmodel: gpt2\nhf_token: env:MY_HF_TOKEN\napi_key: env:MY_API_KEY\n"


@pytest.fixture
def referencing_spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(REFERENCES + "vllm:\n  version: 0.13.0\n")
    return path


@pytest.mark.usefixtures("no_vllm")
def test_env_references_dry_run_without_their_variables(referencing_spec: Path) -> None:
    result = runner.invoke(app, ["run", str(referencing_spec), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout
        == "env 'HF_TOKEN=***' 'VLLM_API_KEY=***' vllm serve gpt2 --host 127.0.0.1 --port 8000\n"
    )


@pytest.mark.usefixtures("no_vllm")
def test_explain_shows_the_reference_not_a_value(referencing_spec: Path) -> None:
    result = runner.invoke(app, ["explain", str(referencing_spec)])
    assert result.exit_code == 0, result.stderr
    assert "env:MY_HF_TOKEN" in result.stdout
    assert "env:MY_API_KEY" in result.stdout


@pytest.mark.usefixtures("no_vllm")
def test_a_launch_resolves_references_first_and_starts_nothing_without_them(referencing_spec: Path) -> None:
    result = runner.invoke(app, ["run", str(referencing_spec), "--detach"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "llmserve: error: invalid spec: api_key: environment variable MY_API_KEY is not set; "
        "export it, or remove the key\n"
    )


def test_a_listening_address_beyond_loopback_without_a_key_is_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = runner.invoke(app, ["tgi", "gpt2", "--host", "0.0.0.0", "--dry-run"])
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "llmserve: warning: listening on 0.0.0.0 without an API key: anyone who can reach this machine "
        "can use the server; give --api-key-file or set LLMSERVE_API_KEY"
    ]
    monkeypatch.setenv("LLMSERVE_API_KEY", "k")
    assert "warning" not in runner.invoke(app, ["tgi", "gpt2", "--host", "0.0.0.0", "--dry-run"]).stderr
    assert "warning" not in runner.invoke(app, ["tgi", "gpt2", "--host", "::1", "--dry-run"]).stderr


@pytest.mark.usefixtures("no_vllm")
def test_a_given_vllm_version_needs_no_vllm_and_warns_about_nothing() -> None:
    result = runner.invoke(app, ["vllm", "gpt2", "--vllm-version", "0.10.0", "--dry-run"])
    assert result.exit_code == 0
    assert result.stderr == "llmserve: vllm 0.10.0\n"
    assert result.stdout == "vllm serve gpt2 --host 127.0.0.1 --port 8000 --task generate\n"


def test_explain_wraps_long_cells_instead_of_cutting_them() -> None:
    note = "a note much longer than one column can hold, which must be read to its very last word"
    lines = table([Row("field", "value", "tgi", "vllm", "exact", note)])
    assert all(len(part) <= COLUMN_WIDTH for line in lines for part in line.split("  ") if part)
    assert " ".join(
        " ".join(line.split()[5:] if i == 1 else line.split()) for i, line in enumerate(lines)
    ).count("last word")
    assert " ".join(lines).split().count("word") == 1
    assert len(lines) == 4  # the header, and the row on three lines


def test_convert_writes_the_whole_file_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "spec.yaml"
    line = ["--", "vllm", "serve", "gpt2", "--max-model-len", "4096"]
    printed = runner.invoke(app, ["convert", *line]).stdout
    assert runner.invoke(app, ["convert", "-o", str(target), *line]).exit_code == 0
    assert target.read_text() == printed
    assert sorted(os.listdir(tmp_path)) == ["spec.yaml"]

    def failing_replace(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    result = runner.invoke(app, ["convert", "-o", str(tmp_path / "other.yaml"), *line])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.endswith("(No space left on device); choose a writable path with -o\n")
    assert sorted(os.listdir(tmp_path)) == ["spec.yaml"]


def test_shell_completion_is_installable() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0
    assert "_LLMSERVE_COMPLETE" in result.stdout
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout


def test_an_alias_bomb_is_refused_before_it_grows(tmp_path: Path) -> None:
    text = "engine: tgi\nmodel: gpt2\nengine_args:\n- &a0 [a, a, a, a, a, a, a, a, a]\n"
    for level in range(1, 9):
        text += f"- &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 600
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="expands to more than 100000 values"):
            read_spec_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.parametrize(
    ("spec", "engine", "other"),
    [
        ("engine: tgi\nmodel: gpt2\nvllm:\n  enforce_eager: true\n", "vllm", "TGI"),
        ("engine: vllm\nmodel: gpt2\ntgi:\n  max_concurrent_requests: 8\n", "tgi", "vLLM"),
    ],
)
def test_a_section_for_the_other_engine_is_refused_both_ways(
    spec: str, engine: str, other: str, tmp_path: Path
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    result = runner.invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert f"this spec serves with {other}; remove it" in result.stderr
    # written for the other engine, the same section is translated by --engine
    path.write_text(spec.replace(f"engine: {'tgi' if engine == 'vllm' else 'vllm'}", f"engine: {engine}"))
    moved = runner.invoke(
        app, ["run", str(path), "--engine", "tgi" if engine == "vllm" else "vllm", "--dry-run"]
    )
    assert moved.exit_code == 0, moved.stderr


def test_duplicate_keys_and_malformed_sections_are_not_silently_resolved(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("engine: tgi\nmodel: gpt2\ntgi:\n  max_input_tokens: 1\ntgi:\n  max_input_tokens: 2\n")
    result = runner.invoke(app, ["run", str(path), "--dry-run"])
    assert result.stderr == f"llmserve: error: spec file {path} sets 'tgi' twice (line 5); keep one\n"
    path.write_text("engine: tgi\nmodel: gpt2\ntgi: hello\n")
    result = runner.invoke(app, ["run", str(path), "--max-input-tokens", "5", "--dry-run"])
    assert (
        result.stderr == "llmserve: error: invalid spec: tgi: must be a mapping (got 'hello'); fix the file\n"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HF_TOKEN", "a\nb", "$HF_TOKEN spans lines or holds a control character"),
        ("LLMSERVE_API_KEY", "file:/etc/passwd", "$LLMSERVE_API_KEY must hold the secret itself"),
        ("LLMSERVE_VLLM_PYTHON", "a\nb", "vllm.python: 'a\\nb' is not a path to an interpreter"),
        ("LLMSERVE_DEBUG", "perhaps", "'perhaps' is not true or false"),
    ],
)
def test_environment_values_pass_the_same_boundary(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["vllm", "gpt2", "--dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "a\nb" not in result.stderr


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.parametrize(
    "revision",
    ["a/../../../etc", "..", "v1..2", "a//b", "release/", "v1.", "a/.hidden", "main.lock", "x.lock/y"],
)
def test_a_revision_is_a_git_ref_not_a_path(revision: str) -> None:
    """git's check-ref-format rules: no `..`, no empty part, no part starting with `.` or ending with
    `.lock`, no trailing `/` or `.` (a leading `/` or `-` was refused already)."""
    result = runner.invoke(app, ["vllm", "org/model", "--revision", revision, "--dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert f"revision: {revision!r} is not a branch, tag or commit" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "revision", ["main", "v1.0", "refs/pr/1", "release/2024-01", "v0.13.0+cpu", "a.lockb", "a" * 40]
)
def test_branches_tags_and_commits_are_revisions(revision: str) -> None:
    from llmserve.spec import build_spec

    assert build_spec({"engine": "vllm", "model": "org/model", "revision": revision}).revision == revision
