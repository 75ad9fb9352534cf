"""The model-facts reader against a local directory, a populated HF cache and a stand-in hub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmserve.errors import ExitCode
from llmserve.modelfacts import HUB_LOOKUP_THREAD, HubAccess, ModelUnavailable, Reason, read
from tests.fixtures.standin_hub import (
    WEIGHTS_NAME,
    WEIGHTS_SIZE,
    HubRepo,
    StandinHub,
    model_files,
    populate_cache,
    standin_hub,
)

TOKEN = "hf_SECRET_preflight_token_42"
CLOSED_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture
def hub() -> Iterator[StandinHub]:
    repos = {
        "org/open": HubRepo(model_files(), revisions={"main": "a" * 40, "v1": "c" * 40}),
        "org/gated": HubRepo(model_files(), gated=True, accepted_token=TOKEN),
        "org/no-config": HubRepo({WEIGHTS_NAME: b"\0" * 8}),
    }
    with standin_hub(repos) as running:
        yield running


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "hf" / "hub"
    path.mkdir(parents=True)
    return path


def access(cache: Path | None, endpoint: str = CLOSED_ENDPOINT, **kwargs: object) -> HubAccess:
    return HubAccess(cache_dir=cache, endpoint=endpoint, **kwargs)  # type: ignore[arg-type]


def unavailable(model: str, revision: str | None, hub_access: HubAccess) -> ModelUnavailable:
    with pytest.raises(ModelUnavailable) as caught:
        read(model, revision, hub_access)
    assert "\n" not in caught.value.message
    assert TOKEN not in caught.value.message
    return caught.value


def test_a_local_directory(tmp_path: Path) -> None:
    for name, data in model_files().items():
        (tmp_path / name).write_bytes(data)
    facts = read(str(tmp_path), None, access(None))
    assert (facts.source, facts.location) == ("local", str(tmp_path))
    assert facts.config["architectures"] == ["LlamaForCausalLM"]
    assert [(w.name, w.size) for w in facts.weight_files] == [(WEIGHTS_NAME, WEIGHTS_SIZE)]
    assert facts.weight_bytes == WEIGHTS_SIZE


def test_a_local_directory_without_config_or_weights(tmp_path: Path) -> None:
    missing = unavailable(str(tmp_path), None, access(None))
    assert (missing.reason, missing.exit_code) == (Reason.NO_CONFIG, ExitCode.USAGE)
    assert "config.json" in missing.message
    (tmp_path / "config.json").write_text("{}")
    no_weights = unavailable(str(tmp_path), None, access(None))
    assert no_weights.reason == Reason.NO_WEIGHTS
    assert read(str(tmp_path), None, access(None), need_weights=False).weight_files == ()
    (tmp_path / "config.json").write_text("{not json")
    assert unavailable(str(tmp_path), None, access(None)).reason == Reason.NO_CONFIG


def test_a_config_that_never_ends_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"w")
    (tmp_path / "config.json").symlink_to("/dev/urandom")
    refused = unavailable(str(tmp_path), None, access(None))
    assert refused.reason == Reason.NO_CONFIG
    assert "larger than" in refused.message


def test_sharded_weights_need_every_shard(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    shards = {"w": "model-00001-of-00002.safetensors", "v": "model-00002-of-00002.safetensors"}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": shards}))
    (tmp_path / shards["w"]).write_bytes(b"\0" * 10)
    assert unavailable(str(tmp_path), None, access(None)).reason == Reason.NO_WEIGHTS
    (tmp_path / shards["v"]).write_bytes(b"\0" * 20)
    assert read(str(tmp_path), None, access(None)).weight_bytes == 30
    (tmp_path / "model.safetensors.index.json").write_text("[not an index")
    assert "cannot be read as a shard index" in unavailable(str(tmp_path), None, access(None)).message


def test_safetensors_are_preferred_over_pickles(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\0" * 100)
    (tmp_path / "training_args.bin").write_bytes(b"\0" * 5)
    assert [w.name for w in read(str(tmp_path), None, access(None)).weight_files] == ["pytorch_model.bin"]
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 50)
    assert [w.name for w in read(str(tmp_path), None, access(None)).weight_files] == ["model.safetensors"]


def test_the_cache_answers_without_the_hub(cache: Path) -> None:
    snapshot = populate_cache(cache, "org/open", model_files())
    facts = read("org/open", None, access(cache, offline=True))
    assert (facts.source, facts.location) == ("cache", str(snapshot))
    assert facts.weight_bytes == WEIGHTS_SIZE  # the links followed to their blobs
    assert read("org/open", None, access(cache)).source == "cache"  # the closed hub is never asked


def test_the_cache_must_hold_the_revision_asked_for(cache: Path) -> None:
    populate_cache(cache, "org/open", model_files())
    missing = unavailable("org/open", "v1", access(cache, offline=True))
    assert missing.reason == Reason.OFFLINE_ENV
    assert "org/open (revision v1) is not in the HF cache" in missing.message
    assert "`hf download org/open --revision v1`" in missing.message
    populate_cache(cache, "org/open", model_files(), revision="v1", commit="c" * 40)
    assert read("org/open", "v1", access(cache, offline=True)).location.endswith("c" * 40)
    assert read("org/open", "c" * 40, access(cache, offline=True)).source == "cache"  # a commit


def test_offline_and_not_cached(cache: Path) -> None:
    missing = unavailable("org/open", None, access(cache, offline=True))
    assert (missing.reason, missing.exit_code) == (Reason.OFFLINE_ENV, ExitCode.ENVIRONMENT)
    assert "HF_HUB_OFFLINE is set" in missing.message
    assert "`hf download org/open`" in missing.message and "local model directory" in missing.message


def test_a_cache_with_config_but_no_weights_is_not_enough_offline(cache: Path) -> None:
    populate_cache(cache, "org/open", {"config.json": b"{}"})
    missing = unavailable("org/open", None, access(cache, offline=True))
    assert "holds its config but not its weights" in missing.message


@pytest.mark.parametrize(
    "damage", ["dangling config link", "ref to a missing snapshot", "dangling weights", "ref naming a path"]
)
def test_a_damaged_cache_is_named_as_such_with_the_fix(cache: Path, damage: str) -> None:
    import shutil

    snapshot = populate_cache(cache, "org/open", model_files())
    repo_dir = snapshot.parents[1]
    if damage == "ref to a missing snapshot":
        shutil.rmtree(snapshot)
        broken = f"refs/main names snapshot {snapshot.name}, which is missing"
    elif damage == "ref naming a path":  # never followed out of the cache
        shutil.rmtree(snapshot)
        (repo_dir / "refs" / "main").write_text("../../../..")
        broken = "refs/main does not name a commit"
    else:
        name = "config.json" if damage == "dangling config link" else WEIGHTS_NAME
        (snapshot / name).resolve().unlink()  # the blob: the snapshot's link now leads nowhere
        broken = f"{name} in snapshot {snapshot.name} links to a missing file"
    for hub_access in (access(cache, offline=True), access(cache)):  # HF_HUB_OFFLINE, or no hub
        refused = unavailable("org/open", None, hub_access)
        assert f"org/open is damaged in the HF cache ({repo_dir}: {broken})" in refused.message
        assert f"delete {repo_dir} and download it again (`hf download org/open`)" in refused.message
        assert "not in the HF cache" not in refused.message


def test_hub_unreachable(cache: Path) -> None:
    missing = unavailable("org/open", None, access(cache))
    assert (missing.reason, missing.exit_code) == (Reason.UNREACHABLE, ExitCode.ENVIRONMENT)
    assert f"the hub at {CLOSED_ENDPOINT} does not answer" in missing.message
    assert "hf download org/open" in missing.message


def test_hub_metadata_without_downloading(cache: Path, hub: StandinHub) -> None:
    facts = read("org/open", None, access(cache, hub.endpoint))
    assert (facts.source, facts.location) == ("hub", f"{hub.endpoint}/org/open")
    assert facts.config["model_type"] == "llama"
    assert [(w.name, w.size) for w in facts.weight_files] == [(WEIGHTS_NAME, WEIGHTS_SIZE)]
    assert not any(WEIGHTS_NAME in request for request in hub.requests)  # weights never fetched
    assert list(cache.iterdir()) == []  # nothing written into the cache
    assert read("org/open", "v1", access(cache, hub.endpoint)).revision == "v1"


def test_no_such_repo_or_revision(cache: Path, hub: StandinHub) -> None:
    repo = unavailable("org/nothing", None, access(cache, hub.endpoint))
    assert (repo.reason, repo.exit_code) == (Reason.NO_SUCH_REPO, ExitCode.USAGE)
    assert "org/nothing is not a model on the hub" in repo.message
    assert "set HF_TOKEN" in repo.message  # it may be private
    revision = unavailable("org/open", "v9", access(cache, hub.endpoint))
    assert (revision.reason, revision.exit_code) == (Reason.NO_SUCH_REVISION, ExitCode.USAGE)
    assert "no revision 'v9'" in revision.message
    no_config = unavailable("org/no-config", None, access(cache, hub.endpoint))
    assert no_config.reason == Reason.NO_CONFIG


def test_gated_needs_a_token_with_access(cache: Path, hub: StandinHub) -> None:
    without = unavailable("org/gated", None, access(cache, hub.endpoint))
    assert (without.reason, without.exit_code) == (Reason.GATED_NO_TOKEN, ExitCode.ENVIRONMENT)
    assert "HF_TOKEN" in without.message and f"{hub.endpoint}/org/gated" in without.message
    refused = unavailable("org/gated", None, access(cache, hub.endpoint, token="hf_other"))
    assert refused.reason == Reason.TOKEN_REFUSED
    facts = read("org/gated", None, access(cache, hub.endpoint, token=TOKEN))
    assert facts.gated and facts.config["model_type"] == "llama"
    assert TOKEN not in repr(access(cache, hub.endpoint, token=TOKEN))


def test_access_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    env = {"HF_HOME": str(tmp_path), "HF_ENDPOINT": "http://hub.local/", "HF_HUB_OFFLINE": "1"}
    got = HubAccess.from_env(env)
    assert (got.cache_dir, got.endpoint, got.offline, got.token) == (
        tmp_path / "hub",
        "http://hub.local",
        True,
        TOKEN,
    )
    assert HubAccess.from_env({"HF_HUB_CACHE": "/c", "TRANSFORMERS_OFFLINE": "0"}).cache_dir == Path("/c")
    assert not HubAccess.from_env({}).offline
    mounted = HubAccess.from_env({"HF_HUB_CACHE": "/c"}, hf_home="/mounted")
    assert mounted.cache_dir == Path("/mounted/hub")  # a container sees the mounted cache


@pytest.mark.parametrize("responder", ["trickle", "endless"])
def test_a_hub_that_never_finishes_is_cut_off_at_the_deadline(cache: Path, responder: str) -> None:
    import time

    from tests.fixtures.hostile_http import endless_chunked, hostile_server, http, trickle

    body = http(200, {"id": "org/open", "siblings": [{"rfilename": "config.json"}] * 200})
    slow = trickle(body, every=0.2) if responder == "trickle" else endless_chunked()
    routes = {f"/api/models/org/open{query}": slow for query in ("", "?blobs=True", "?blobs=true")}
    with hostile_server(routes) as server:
        started = time.monotonic()
        missing = unavailable("org/open", None, access(cache, server.url, timeout=1.0))
        elapsed = time.monotonic() - started
    assert server.requests, "the hostile hub was never asked"
    assert (missing.reason, missing.exit_code) == (Reason.UNREACHABLE, ExitCode.ENVIRONMENT)
    assert elapsed < 4.0


def test_a_hub_cut_off_at_the_deadline_leaves_no_lookup_running(cache: Path) -> None:
    """The refusal ends the lookup too: no thread keeps reading from the hub after it."""
    import threading

    from tests.fixtures.hostile_http import endless_chunked, hostile_server

    routes = {
        f"/api/models/org/open{query}": endless_chunked() for query in ("", "?blobs=True", "?blobs=true")
    }
    with hostile_server(routes) as server:
        unavailable("org/open", None, access(cache, server.url, timeout=0.5))
        lingering = [thread.name for thread in threading.enumerate() if thread.name == HUB_LOOKUP_THREAD]
    assert lingering == []


def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path) -> None:
    import os

    (tmp_path / WEIGHTS_NAME).write_bytes(b"\0" * 8)
    os.mkfifo(tmp_path / "config.json")  # a read would block until a writer comes, forever
    refused = unavailable(str(tmp_path), None, access(None))
    assert (refused.reason, refused.exit_code) == (Reason.NO_CONFIG, ExitCode.USAGE)
    assert "not a regular file" in refused.message


def test_the_hub_lookup_sends_no_telemetry_and_writes_nothing(
    tmp_path: Path, cache: Path, hub: StandinHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub's user agent would otherwise ask the hub for a registry and save it in HF_HOME."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    registry_file = tmp_path / "hf" / ".agent_harnesses.json"
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(registry_file))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", False)
    monkeypatch.setattr(_detect_agent, "_registry", None)
    fetched: list[bool] = []

    def fetch_registry() -> dict[str, object]:
        fetched.append(True)
        return {}

    monkeypatch.setattr(_detect_agent, "_fetch_registry", fetch_registry)
    read("org/open", None, access(cache, hub.endpoint))
    assert fetched == []
    assert not registry_file.exists()


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b"<html>a proxy's login page</html>", b'{"siblings": "x", "sha": 5}']
)
def test_an_endpoint_that_is_not_the_hub_is_named_as_such(cache: Path, body: bytes) -> None:
    from tests.fixtures.hostile_http import answer, hostile_server

    routes = {
        f"/api/models/org/open{query}": answer(200, body) for query in ("", "?blobs=True", "?blobs=true")
    }
    with hostile_server(routes) as server:
        wrong = unavailable("org/open", None, access(cache, server.url))
    assert (wrong.reason, wrong.exit_code) == (Reason.UNREACHABLE, ExitCode.ENVIRONMENT)
    assert "does not answer as the Hugging Face Hub does; check HF_ENDPOINT" in wrong.message


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("config.json", "[" * 100_000 + "]" * 100_000, Reason.NO_CONFIG),
        ("model.safetensors.index.json", '{"weight_map": [1]}', Reason.NO_WEIGHTS),
        (
            "model.safetensors.index.json",
            '{"weight_map": ' + "[" * 100_000 + "]" * 100_000 + "}",
            Reason.NO_WEIGHTS,
        ),
    ],
)
def test_a_config_or_index_nested_too_deeply_or_misshapen_is_refused(
    tmp_path: Path, name: str, text: str, reason: Reason
) -> None:
    # Each ended in a traceback (RecursionError, AttributeError), exit 1.
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"w")
    (tmp_path / name).write_text(text)
    refused = unavailable(str(tmp_path), None, access(None))
    assert refused.reason == reason
    assert "fix or replace it" in refused.message
