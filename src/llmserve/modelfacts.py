"""Facts about a model: its config.json and its weight files (names, sizes), never the weights.

One reader for every place a model can be had, in this order: a local directory; the Hugging Face
cache, for the revision asked for; the hub's metadata (through huggingface_hub, the hub's own client,
which honours HF_ENDPOINT). When none has it, ModelUnavailable says why and what to do.
What the config means (architecture, sizes) is for its readers, not for this module.
"""

from __future__ import annotations

import enum
import json
import re
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llmserve.errors import ExitCode, LlmserveError

CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 16 << 20  # published configs are kilobytes; a link to a device must not be read forever
HF_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"
HUB_TIMEOUT_SECONDS = 3.0
HUB_LOOKUP_THREAD = "hub-lookup"
_COMMIT = re.compile(r"[0-9a-f]{40}")  # what a ref in the HF cache holds
_TRUE_WORDS = frozenset({"1", "on", "yes", "true"})
_OFFLINE_ENVS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_SHARD_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
# Engines load safetensors when a repository has them, else PyTorch pickles, else GGUF.
_WEIGHT_FORMATS = (r"\.safetensors$", r"^pytorch_model.*\.bin$", r"\.gguf$")

Source = Literal["local", "cache", "hub"]


class Reason(str, enum.Enum):
    """Why a model cannot be had; each reason has its exit code."""

    NO_CONFIG = "no_config"
    NO_WEIGHTS = "no_weights"
    NO_SUCH_REPO = "no_such_repo"
    NO_SUCH_REVISION = "no_such_revision"
    OFFLINE_ENV = "hf_hub_offline"
    UNREACHABLE = "hub_unreachable"
    GATED_NO_TOKEN = "gated_without_token"
    TOKEN_REFUSED = "token_refused"

    @property
    def exit_code(self) -> ExitCode:
        wrong_name = (Reason.NO_CONFIG, Reason.NO_WEIGHTS, Reason.NO_SUCH_REPO, Reason.NO_SUCH_REVISION)
        return ExitCode.USAGE if self in wrong_name else ExitCode.ENVIRONMENT


class ModelUnavailable(LlmserveError):
    """The model cannot be had where the engine will look for it."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.exit_code = reason.exit_code


@dataclass(frozen=True)
class HubAccess:
    """Where the engine looks for a hub model: its cache, its hub, whether it may go online, its token."""

    cache_dir: Path | None
    endpoint: str = HF_ENDPOINT
    offline: bool = False
    token: str | None = field(default=None, repr=False)
    timeout: float = HUB_TIMEOUT_SECONDS

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, hf_home: str | None = None, token: str | None = None
    ) -> HubAccess:
        """As huggingface_hub reads its environment; `hf_home` overrides HF_HOME (a mounted cache)."""
        home = Path(hf_home or env.get("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()
        cache = Path(env["HF_HUB_CACHE"]) if env.get("HF_HUB_CACHE") and not hf_home else home / "hub"
        if token is None:
            token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or _token_file(home)
        return cls(
            cache_dir=cache,
            endpoint=(env.get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/"),
            offline=any(env.get(name, "").strip().lower() in _TRUE_WORDS for name in _OFFLINE_ENVS),
            token=token,
        )


@dataclass(frozen=True)
class WeightFile:
    name: str
    size: int


@dataclass(frozen=True)
class ModelFacts:
    model: str
    revision: str | None
    source: Source
    location: str  # a directory, or the hub's URL of the repository
    config: Mapping[str, Any]
    weight_files: tuple[WeightFile, ...]
    gated: bool = False

    @property
    def weight_bytes(self) -> int:
        return sum(weight.size for weight in self.weight_files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "revision": self.revision,
            "source": self.source,
            "location": self.location,
            "gated": self.gated,
            "architectures": list(self.config.get("architectures") or []),
            "weight_files": [{"name": w.name, "size": w.size} for w in self.weight_files],
            "weight_bytes": self.weight_bytes,
        }


@dataclass(frozen=True)
class _Absence:
    """What a refusal says the cache lacks (the model, its weights, or a whole copy), and the fix."""

    said: str
    fix: str


def read(model: str, revision: str | None, access: HubAccess, *, need_weights: bool = True) -> ModelFacts:
    """The model's facts from the first place that has it whole; ModelUnavailable when none has."""
    if Path(model).is_absolute():
        return _from_directory(model, need_weights=need_weights)
    cached = None
    if access.cache_dir is not None:
        cached = _from_cache(model, revision, access.cache_dir)
        if cached is not None and (cached.weight_files or not need_weights):
            return cached
    absence = _absence(model, revision, access, config_cached=cached is not None)
    if access.offline:
        raise ModelUnavailable(
            Reason.OFFLINE_ENV,
            f"{absence.said} and HF_HUB_OFFLINE is set, so the engine cannot download it; {absence.fix}, "
            "or unset HF_HUB_OFFLINE",
        )
    return _within_deadline(model, revision, access, absence)


def _absence(model: str, revision: str | None, access: HubAccess, *, config_cached: bool) -> _Absence:
    named = _named(model, revision)
    damage = _cache_damage(model, revision, access.cache_dir) if access.cache_dir is not None else None
    if damage is not None:
        repo_dir, broken = damage
        return _Absence(
            f"{named} is damaged in the HF cache ({repo_dir}: {broken})",
            f"delete {repo_dir} and download it again (`{_download_command(model, revision)}`)",
        )
    partial = " (the cache holds its config but not its weights)" if config_cached else ""
    return _Absence(f"{named} is not in the HF cache{_where(access)}{partial}", _offline_fix(model, revision))


def _cache_damage(model: str, revision: str | None, cache_dir: Path) -> tuple[Path, str] | None:
    """The model's directory in the cache and what is broken there, when the revision's copy is not
    whole: its ref names a snapshot that is gone, or a file of the snapshot links to a missing blob.
    Resolved as huggingface_hub's `try_to_load_from_cache` does."""
    from huggingface_hub.file_download import repo_folder_name

    repo_dir = cache_dir / repo_folder_name(repo_id=model, repo_type="model")
    wanted = revision or DEFAULT_REVISION
    ref = repo_dir / "refs" / wanted
    try:
        commit = ref.read_text() if ref.is_file() else wanted
        if ref.is_file() and not _COMMIT.fullmatch(commit):  # never a path to follow out of the cache
            return repo_dir, f"refs/{wanted} does not name a commit"
        snapshot = repo_dir / "snapshots" / commit
        if ref.is_file() and not snapshot.is_dir():
            return repo_dir, f"refs/{wanted} names snapshot {commit}, which is missing"
        if not snapshot.is_dir():
            return None
        broken = sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if not p.exists())
    except (OSError, ValueError) as error:  # unreadable, or a ref that is not a directory name
        return repo_dir, f"its refs or snapshots cannot be read ({_first_line(error)})"
    if not broken:
        return None
    more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
    return repo_dir, f"{broken[0]} in snapshot {commit} links to a missing file{more}"


def _within_deadline(model: str, revision: str | None, access: HubAccess, absence: _Absence) -> ModelFacts:
    """The hub lookup, cut off after twice the timeout in all: huggingface_hub's timeout is per read,
    so a hub that trickles bytes or sends an endless body would otherwise hold the preflight forever."""
    outcome: list[ModelFacts | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(_from_hub(model, revision, access, absence))
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)

    worker = threading.Thread(target=lookup, name=HUB_LOOKUP_THREAD, daemon=True)
    worker.start()
    worker.join(2 * access.timeout)
    if worker.is_alive():
        _cut_off(worker, access)
        raise ModelUnavailable(
            Reason.UNREACHABLE,
            f"{absence.said} and the hub at {access.endpoint} gives no complete answer within "
            f"{2 * access.timeout:g} s; {absence.fix}",
        )
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _cut_off(worker: threading.Thread, access: HubAccess) -> None:
    """End a lookup that missed its deadline rather than leave it reading: closing huggingface_hub's
    client closes its connections, so a read in progress fails at once and one waiting for bytes
    within its own timeout."""
    from huggingface_hub import close_session

    close_session()
    worker.join(access.timeout)


def _from_directory(model: str, *, need_weights: bool) -> ModelFacts:
    directory = Path(model)
    config = _read_config(directory / CONFIG_FILE, model)
    weights = _weights_in(directory)
    if need_weights and not weights:
        raise ModelUnavailable(
            Reason.NO_WEIGHTS,
            f"{model} holds no weights (*.safetensors, pytorch_model*.bin or *.gguf); "
            "save the model there (`save_pretrained`) or give another directory",
        )
    return ModelFacts(model, None, "local", str(directory), config, weights)


def _read_config(path: Path, model: str) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # opening would block until a writer came
            raise ModelUnavailable(
                Reason.NO_CONFIG, f"{path} is not a regular file; replace it with the model's config.json"
            )
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ModelUnavailable(
                Reason.NO_CONFIG,
                f"{path} is larger than {MAX_CONFIG_BYTES >> 20} MiB, so it is not a model config; "
                "fix or replace it",
            )
        config = json.loads(raw)
    except FileNotFoundError:
        raise ModelUnavailable(
            Reason.NO_CONFIG,
            f"{model} has no {CONFIG_FILE}, so it is not a Transformers model directory; "
            "give the directory that holds config.json and the weights",
        ) from None
    except (OSError, ValueError) as error:
        raise ModelUnavailable(
            Reason.NO_CONFIG, f"{path} cannot be read as JSON ({error}); fix or replace it"
        ) from None
    except RecursionError:
        raise ModelUnavailable(
            Reason.NO_CONFIG, f"{path} nests too deeply to be a model config; fix or replace it"
        ) from None
    if not isinstance(config, dict):
        raise ModelUnavailable(Reason.NO_CONFIG, f"{path} is not a JSON object; fix or replace it")
    return config


def _weights_in(directory: Path) -> tuple[WeightFile, ...]:
    """The weight files a loader would read, with their sizes (cache links followed to their blobs)."""
    present = {p.name: p for p in directory.iterdir() if p.is_file()}  # is_file: a dangling link is not
    for index in _SHARD_INDEXES:
        if index in present:
            shards = _shards_named(present[index])
            if not shards <= present.keys():
                return ()  # some shards are missing: not loadable
            return tuple(WeightFile(name, present[name].stat().st_size) for name in sorted(shards))
    return _pick_format({name: path.stat().st_size for name, path in present.items()})


def _shards_named(index: Path) -> set[str]:
    try:
        weight_map = json.loads(index.read_text()).get("weight_map")
        return {str(name) for name in (weight_map or {}).values()}
    except (OSError, ValueError, AttributeError, RecursionError) as error:
        raise ModelUnavailable(
            Reason.NO_WEIGHTS, f"{index} cannot be read as a shard index ({error}); fix or replace it"
        ) from None


def _pick_format(sizes: Mapping[str, int | None]) -> tuple[WeightFile, ...]:
    for pattern in _WEIGHT_FORMATS:
        names = sorted(name for name in sizes if re.search(pattern, name.rpartition("/")[2]))
        if names:
            return tuple(WeightFile(name, sizes[name] or 0) for name in names)
    return ()


def _from_cache(model: str, revision: str | None, cache_dir: Path) -> ModelFacts | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model, CONFIG_FILE, cache_dir=cache_dir, revision=revision)
    if not isinstance(found, str):
        return None
    snapshot = Path(found).parent
    config = _read_config(Path(found), model)
    return ModelFacts(model, revision, "cache", str(snapshot), config, _weights_in(snapshot))


def _from_hub(model: str, revision: str | None, access: HubAccess, absence: _Absence) -> ModelFacts:
    from huggingface_hub import HfApi, constants, get_session, hf_hub_url, hf_raise_for_status
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    # Its user agent would otherwise fetch a registry from the hub and save it in HF_HOME.
    constants.HF_HUB_DISABLE_TELEMETRY = True

    api = HfApi(endpoint=access.endpoint, token=access.token or False)
    try:
        info = api.model_info(model, revision=revision, files_metadata=True, timeout=access.timeout)
        gated = bool(info.gated)
        if gated and not access.token:
            raise ModelUnavailable(
                Reason.GATED_NO_TOKEN,
                f"{model} is gated and no Hugging Face token is given; accept its licence at "
                f"{access.endpoint}/{model} and set HF_TOKEN (or --hf-token-file)",
            )
        url = hf_hub_url(model, CONFIG_FILE, revision=revision, endpoint=access.endpoint)
        headers = {"authorization": f"Bearer {access.token}"} if access.token else {}
        response = get_session().get(url, headers=headers, timeout=access.timeout, follow_redirects=True)
        hf_raise_for_status(response)
        config = response.json()
    except ModelUnavailable:
        raise
    except OfflineModeIsEnabled:
        raise ModelUnavailable(
            Reason.OFFLINE_ENV,
            f"{absence.said} and HF_HUB_OFFLINE is set; {absence.fix}, or unset HF_HUB_OFFLINE",
        ) from None
    except HfHubHTTPError as error:
        raise _refusal(model, revision, access, error, absence) from None
    except (ValueError, TypeError, AttributeError, KeyError):  # an answer, not in the hub's shapes
        raise ModelUnavailable(
            Reason.UNREACHABLE,
            f"{absence.said} and {access.endpoint} does not answer as the Hugging Face Hub does; "
            f"check HF_ENDPOINT (and any proxy), or {absence.fix}",
        ) from None
    except Exception as error:  # the transport's own errors: DNS, refused, timeout, TLS
        raise ModelUnavailable(
            Reason.UNREACHABLE,
            f"{absence.said} and the hub at {access.endpoint} does not answer ({_first_line(error)}); "
            f"{absence.fix}",
        ) from None
    if not isinstance(config, dict):
        raise ModelUnavailable(Reason.NO_CONFIG, f"{model}'s {CONFIG_FILE} on the hub is not a JSON object")
    sizes = {sibling.rfilename: sibling.size for sibling in info.siblings or []}
    weights = _pick_format(sizes)
    return ModelFacts(model, revision, "hub", f"{access.endpoint}/{model}", config, weights, gated)


def _refusal(
    model: str, revision: str | None, access: HubAccess, error: Any, absence: _Absence
) -> ModelUnavailable:
    from huggingface_hub.errors import (
        GatedRepoError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, GatedRepoError):
        if not access.token:
            return ModelUnavailable(
                Reason.GATED_NO_TOKEN,
                f"{model} is gated and no Hugging Face token is given; accept its licence at "
                f"{access.endpoint}/{model} and set HF_TOKEN (or --hf-token-file)",
            )
        return ModelUnavailable(
            Reason.TOKEN_REFUSED,
            f"{model} is gated and the hub refuses this token; accept the model's licence at "
            f"{access.endpoint}/{model} with the account the token belongs to",
        )
    if isinstance(error, RevisionNotFoundError):
        return ModelUnavailable(
            Reason.NO_SUCH_REVISION,
            f"{model} has no revision {revision!r} on the hub; give a branch, tag or commit that exists "
            "(--revision), or leave it out for main",
        )
    if isinstance(error, RepositoryNotFoundError):
        private = "" if access.token else " (or it is private and no token is given: set HF_TOKEN)"
        return ModelUnavailable(
            Reason.NO_SUCH_REPO,
            f"{model} is not a model on the hub at {access.endpoint}{private}; check the id (org/name) "
            "or give a local model directory",
        )
    if isinstance(error, RemoteEntryNotFoundError):
        return ModelUnavailable(
            Reason.NO_CONFIG,
            f"{_named(model, revision)} has no {CONFIG_FILE} on the hub, so it is not a Transformers model; "
            "check the id",
        )
    if status in (401, 403):
        return ModelUnavailable(
            Reason.TOKEN_REFUSED,
            f"the hub at {access.endpoint} refuses the Hugging Face token (HTTP {status}); "
            "set a valid HF_TOKEN (or --hf-token-file)",
        )
    return ModelUnavailable(
        Reason.UNREACHABLE,
        f"{absence.said} and the hub at {access.endpoint} fails (HTTP {status}); "
        f"retry later, or {absence.fix}",
    )


def _named(model: str, revision: str | None) -> str:
    return f"{model} (revision {revision})" if revision else model


def _where(access: HubAccess) -> str:
    return f" ({access.cache_dir})" if access.cache_dir is not None else " (no cache is mounted)"


def _download_command(model: str, revision: str | None) -> str:
    return f"hf download {model}" + (f" --revision {revision}" if revision else "")


def _offline_fix(model: str, revision: str | None) -> str:
    return (
        f"download it where the hub is reachable (`{_download_command(model, revision)}`) and copy that "
        "HF cache here, or give a local model directory"
    )


def _token_file(home: Path) -> str | None:
    try:
        return (home / "token").read_text().strip() or None
    except OSError:
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0][:160] if text else "") or type(error).__name__
