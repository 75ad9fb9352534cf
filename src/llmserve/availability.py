"""Can the engine have the model? The check before launch (and `doctor --model`): where the engine
will look (its cache, its hub, offline or not, its token), asked of the one model-facts reader."""

from __future__ import annotations

import os
from dataclasses import replace

from llmserve.modelfacts import HubAccess, ModelFacts, read
from llmserve.plan import LaunchPlan
from llmserve.spec import NO_VOLUME, ServeSpec

# vLLM's random weights for testing need no weight files.
_NO_WEIGHTS_ARGS = (("--load-format", "dummy"), ("--load-format=dummy",))


def hub_access(spec: ServeSpec, plan: LaunchPlan) -> HubAccess:
    """What the engine will see: llmserve's environment with the plan's on top; a container sees the
    HF cache mounted from the host (`volume`), or none."""
    engine_env = {**os.environ, **plan.launch.env}
    token = spec.hf_token.get_secret_value() if spec.hf_token is not None else None
    if plan.runtime != "docker":
        return HubAccess.from_env(engine_env, token=token)
    if spec.volume == NO_VOLUME:
        return replace(HubAccess.from_env(engine_env, token=token), cache_dir=None)
    return HubAccess.from_env(engine_env, hf_home=spec.volume, token=token)


def needs_weights(spec: ServeSpec) -> bool:
    args = spec.engine_args
    pairs = {tuple(args[i : i + 2]) for i in range(len(args))} | {(a,) for a in args}
    return not any(marker in pairs for marker in _NO_WEIGHTS_ARGS)


def check(spec: ServeSpec) -> ModelFacts:
    """The model's facts where the engine will find them; ModelUnavailable (cause and fix) otherwise.

    Needs no engine installed: the portable render has the environment the engine will get.
    """
    from llmserve import engines

    plan = engines.render(spec)
    return read(spec.model, spec.revision, hub_access(spec, plan), need_weights=needs_weights(spec))
