"""The engines llmserve knows, and one entry point to render a spec for any of them."""

from __future__ import annotations

from llmserve.engines import tgi, vllm
from llmserve.engines.common import EngineTraits
from llmserve.engines.vllm import VllmInstallation
from llmserve.plan import LaunchPlan
from llmserve.spec import ServeSpec

TRAITS: dict[str, EngineTraits] = {"tgi": tgi.TRAITS, "vllm": vllm.TRAITS}


def render(spec: ServeSpec, vllm_installation: VllmInstallation | None = None) -> LaunchPlan:
    """Turn a validated spec into a launch plan. Pure: no I/O."""
    if spec.engine == "tgi":
        return tgi.render(spec)
    return vllm.render(spec, vllm_installation)
