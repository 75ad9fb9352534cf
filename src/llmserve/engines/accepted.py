"""What the engine version that will run accepts for the values llmserve owns; the rest is refused
before launch (exit 2), naming the versions that have it.

vLLM: read from the installed vLLM's source (`vllm_source`), else from the tables taken from each
version's source (`vllm_tables`). TGI: its launcher's (`launcher/src/main.rs`) per release tag.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from llmserve.engines.vllm import VllmInstallation, image_version, parse_version
from llmserve.engines.vllm_source import VllmValues, installed_values
from llmserve.errors import SpecError
from llmserve.spec import ServeSpec
from llmserve.vllm_tables import VLLM_VALUES

Version = tuple[int, int, int]
ALLOW_DEPRECATED_QUANTIZATION = "--allow-deprecated-quantization"

# TGI's launcher: the first release whose `enum Quantization` has each method (absent: all 1.x and later).
TGI_QUANTIZATION_SINCE: dict[str, Version] = {
    "fp8": (2, 0, 0),
    "exl2": (2, 1, 0),
    "marlin": (2, 1, 0),
    "compressed-tensors": (2, 4, 1),
}
TGI_LORA_SINCE: Version = (2, 1, 0)  # --lora-adapters: adapter ids, comma-separated
TGI_LORA_PATHS_SINCE: Version = (2, 3, 0)  # id=path (and @revision) entries
# A tag without a patch level (`2.4`) names the newest patch of that minor release.
NEWEST_PATCH = 999


def _parse(version: str) -> Version:
    parsed = parse_version(version)
    assert parsed is not None, version
    return parsed


@cache
def table() -> tuple[tuple[Version, VllmValues], ...]:
    rows = []
    for version, (methods, deprecated, impls) in VLLM_VALUES.items():
        values = VllmValues(
            version, "table", tuple(methods.split()), tuple(deprecated.split()), tuple(impls.split())
        )
        rows.append((_parse(version), values))
    return tuple(sorted(rows))


def table_values(version: str) -> VllmValues | None:
    """The table row for `version`: the newest row at or below it (the oldest row below the table)."""
    parsed = parse_version(version)
    if parsed is None:
        return None
    rows = table()
    below = [values for row_version, values in rows if row_version <= parsed]
    found = below[-1] if below else rows[0][1]
    return VllmValues(
        version.removeprefix("v"),
        f"table for {found.version}",
        found.quantizations,
        found.deprecated_quantizations,
        found.model_impls,
    )


def vllm_values(spec: ServeSpec, installation: VllmInstallation | None) -> VllmValues | None:
    """What the vLLM that will run accepts; None when its version is unknown."""
    if spec.vllm.version:
        return table_values(spec.vllm.version)
    if spec.effective_runtime == "docker":
        version = image_version(spec.effective_image)
        return table_values(version) if version else None
    if installation is None:
        return None
    if installation.package_dir:
        found = installed_values(installation.package_dir, installation.distribution, installation.version)
        if found is not None:
            return found
    return table_values(installation.version)


def versions_having(predicate: Callable[[VllmValues], bool]) -> str:
    """'0.7.3 to 0.25.0, 0.28.0' style list of the table's versions for which `predicate(values)` holds."""
    runs: list[list[str]] = []
    previous = False
    for _, values in table():
        has = bool(predicate(values))
        if has and previous:
            runs[-1][1] = values.version
        elif has:
            runs.append([values.version, values.version])
        previous = has
    if not runs:
        return "none of the versions llmserve knows"
    return ", ".join(first if first == last else f"{first} to {last}" for first, last in runs)


def _name(values: VllmValues) -> str:
    return f"vLLM {values.version}"


def check_vllm(spec: ServeSpec, values: VllmValues | None) -> None:
    """Refuse what this vLLM version would refuse at start-up."""
    _check_vllm_quantization(spec, values)
    impl = spec.vllm.impl
    if impl is not None:
        known = values.model_impls if values else tuple({i for _, v in table() for i in v.model_impls})
        if impl not in known:
            where = versions_having(lambda v: impl in v.model_impls)
            target = _name(values) if values else "any vLLM version llmserve knows"
            offered = (
                f"use one of {', '.join(known)}" if known else "this version has no --model-impl: remove it"
            )
            raise SpecError(
                f"vllm.impl: {impl!r} is not accepted by {target} (vLLM {where} have it); "
                f"{offered}, or run a version that has it"
            )
    # served_model_name: the spec's grammar already refuses what vLLM's parser would (empty, '-x').


def _check_vllm_quantization(spec: ServeSpec, values: VllmValues | None) -> None:
    method = spec.quantization
    if method is None:
        return
    where = versions_having(lambda v: method in v.quantizations)
    if values is None:  # the spec holds only methods some version has
        return
    if method not in values.quantizations:
        raise SpecError(
            f"quantization: {method!r} is not accepted by {_name(values)} (vLLM {where} have it); "
            f"use one of {', '.join(values.quantizations)}, or run a version that has it"
        )
    if method in values.deprecated_quantizations and ALLOW_DEPRECATED_QUANTIZATION not in spec.engine_args:
        raise SpecError(
            f"quantization: {method!r} is deprecated in {_name(values)}, which refuses it unless told "
            f"{ALLOW_DEPRECATED_QUANTIZATION}; add `-- {ALLOW_DEPRECATED_QUANTIZATION}` "
            "or choose another method"
        )


def tgi_version(image: str) -> Version | None:
    tag = image.rpartition(":")[2].removeprefix("v").split("-")[0]
    parts = tag.split(".")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        return None  # sha-…, latest-…: not a release we can place
    major, minor = int(parts[0]), int(parts[1])
    return major, minor, int(parts[2]) if len(parts) == 3 else NEWEST_PATCH


def _shown(version: Version) -> str:
    return ".".join(str(part) for part in version)


def check_tgi(spec: ServeSpec) -> None:
    """Refuse what the TGI image's launcher would refuse (its tag tells the release)."""
    for adapter in spec.lora_adapters:
        # The launcher splits --lora-adapters on commas; the server allows one = and one @ per entry.
        if "," in adapter or adapter.count("=") > 1 or adapter.count("@") > 1:
            raise SpecError(
                f"lora_adapters: {adapter!r} cannot be passed to TGI (it splits the list on commas and "
                "allows one '=' and one '@' per adapter); rename or move it"
            )
    version = tgi_version(spec.effective_image)
    if version is None:
        return
    release = f"TGI {spec.effective_image.rpartition(':')[2]}"
    since = TGI_QUANTIZATION_SINCE.get(spec.quantization or "")
    if since is not None and version < since:
        raise SpecError(
            f"quantization: {spec.quantization!r} is not accepted by {release} "
            f"(TGI {_shown(since)} and later "
            "have it); use a newer --image or another method"
        )
    if spec.lora_adapters and version < TGI_LORA_SINCE:
        raise SpecError(
            f"lora_adapters: {release} has no --lora-adapters "
            f"(TGI {_shown(TGI_LORA_SINCE)} and later have it); "
            "use a newer --image"
        )
    paths = [adapter for adapter in spec.lora_adapters if "=" in adapter or "@" in adapter]
    if paths and version < TGI_LORA_PATHS_SINCE:
        raise SpecError(
            f"lora_adapters: {paths[0]!r}: {release} takes adapter ids only (name=path from TGI "
            f"{_shown(TGI_LORA_PATHS_SINCE)}); give an id or use a newer --image"
        )


def check(spec: ServeSpec, installation: VllmInstallation | None) -> VllmValues | None:
    """Refuse, before anything starts, what the engine version that will run would refuse."""
    if spec.engine == "tgi":
        check_tgi(spec)
        return None
    values = vllm_values(spec, installation)
    check_vllm(spec, values)
    return values
