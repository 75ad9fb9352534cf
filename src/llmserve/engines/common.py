"""Pieces both engines' renderers share: environment, labels, container names, failure hints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from llmserve.plan import LABEL_PREFIX, MANAGED_LABEL, Mount, endpoint_url
from llmserve.redaction import is_secret_name
from llmserve.spec import ServeSpec

HF_TOKEN_ENV = "HF_TOKEN"
LOCAL_MODELS_DIR = "/models"
# What transformers and vLLM say when a model needs its own code, quoted in backticks. Not the bare
# name: TGI logs `trust_remote_code: false` on every start, vLLM `trust_remote_code=True` in its config.
TRUST_REMOTE_CODE_NEEDED = r"`trust_remote_code=True`|`--trust-remote-code`"


@dataclass(frozen=True)
class Hint:
    """A log pattern an engine prints when it fails, and what the user should do about it."""

    pattern: str
    advice: str

    def matching_line(self, lines: list[str]) -> str | None:
        return next((line for line in lines if re.search(self.pattern, line)), None)


# What the hub's client (in either engine) logs when the model cannot be fetched while the engine starts:
# the preflight saw it available, or was skipped, and then the hub went away or the revision did.
REVISION_NOT_FOUND = Hint(
    r"RevisionNotFoundError|Revision Not Found|Invalid rev id|is not a valid git identifier",
    "the revision does not exist on the hub (any more): give a branch, tag or commit that exists "
    "with --revision, or leave it out for main",
)
REPOSITORY_NOT_FOUND = Hint(
    r"RepositoryNotFoundError|Repository Not Found|is not a local folder and is not a valid model identifier",
    "the hub has no such model (or it is private: pass HF_TOKEN): check the id, or give a local directory",
)
HUB_UNREACHABLE = Hint(
    r"We couldn't connect to '|OfflineModeIsEnabled|offline mode is enabled|LocalEntryNotFoundError|"
    r"Cannot find the requested files in the (disk |local )?cache|Temporary failure in name resolution|"
    r"Name or service not known|Max retries exceeded with url|ConnectError|ConnectTimeout",
    "the model hub could not be reached (or offline mode is on) and the HF cache lacks the model: "
    "download it where the hub is reachable (`hf download MODEL`) and copy the cache, "
    "or give a local model directory",
)
HUB_FAILURES = (REVISION_NOT_FOUND, REPOSITORY_NOT_FOUND, HUB_UNREACHABLE)


@dataclass(frozen=True)
class EngineTraits:
    """What llmserve knows about an engine beyond its flags."""

    name: str
    milestones: tuple[tuple[str, str], ...]  # (log substring, what the engine is doing)
    hints: tuple[Hint, ...]

    def diagnose(self, log_lines: list[str]) -> tuple[str, str] | None:
        """The advice for the first known failure in the log, and the line that shows it."""
        for hint in self.hints:
            line = hint.matching_line(log_lines)
            if line is not None:
                return hint.advice, line.strip()
        return None


def engine_env(spec: ServeSpec) -> tuple[dict[str, str], set[str]]:
    """Environment every engine gets: the user's, the HF token, offline mode for local models.

    Returns the environment and the names whose values are secret.
    """
    env = dict(spec.env)
    secrets = {name for name in env if is_secret_name(name)}
    if spec.hf_token is not None:
        env[HF_TOKEN_ENV] = spec.hf_token.get_secret_value()
        secrets.add(HF_TOKEN_ENV)
    if spec.is_local_model:
        # A local model needs no hub; without this, engines may wait on an unreachable one.
        env.setdefault("HF_HUB_OFFLINE", "1")
    return env, secrets


def server_name(spec: ServeSpec) -> str:
    """One name per server, for containers and local processes alike (the port makes it unique)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", PurePosixPath(spec.model).name.lower()).strip("-.") or "model"
    return f"llmserve-{spec.engine}-{slug}-{spec.effective_port}"


def container_labels(spec: ServeSpec, served_model_name: str) -> dict[str, str]:
    return {
        MANAGED_LABEL: "true",
        f"{LABEL_PREFIX}engine": spec.engine,
        f"{LABEL_PREFIX}model": spec.model,
        f"{LABEL_PREFIX}served-model-name": served_model_name,
        f"{LABEL_PREFIX}port": str(spec.effective_port),
        f"{LABEL_PREFIX}endpoint": endpoint_url(spec.host, spec.effective_port),
    }


def local_model_mount(spec: ServeSpec) -> tuple[Mount | None, str]:
    """A local model directory is mounted read-only; the engine sees it at the returned path."""
    if not spec.is_local_model:
        return None, spec.model
    target = f"{LOCAL_MODELS_DIR}/{PurePosixPath(spec.model).name}"
    return Mount(source=spec.model, target=target, read_only=True), target


def gpu_selection_env(gpus: str) -> dict[str, str]:
    """For a local process: which GPUs it sees."""
    if gpus == "all":
        return {}
    return {"CUDA_VISIBLE_DEVICES": "" if gpus == "none" else gpus}
