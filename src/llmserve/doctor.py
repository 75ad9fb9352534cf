"""`llmserve doctor`: what this machine offers each engine, and what is missing."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmserve import machine as machine_module
from llmserve.errors import LlmserveError
from llmserve.machine import Machine
from llmserve.spec import default_hf_cache

if TYPE_CHECKING:
    from llmserve.modelfacts import ModelFacts
    from llmserve.spec import ServeSpec


@dataclass
class Report:
    docker: dict[str, Any] = field(default_factory=dict)
    gpus: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)  # CPU, memory, and the defaults they imply
    vllm: dict[str, Any] = field(default_factory=dict)
    disk: dict[str, Any] = field(default_factory=dict)
    hf_token: dict[str, Any] = field(default_factory=dict)
    servers: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, Any] | None = None  # with --model: can the engine have it

    def missing_for(self, engine: str | None) -> list[str]:
        """What the asked engine needs and this machine lacks (any engine when none is asked)."""
        tgi_missing = [] if self.docker.get("reachable") else ["a Docker engine (TGI runs in Docker)"]
        vllm_missing = [] if self.vllm.get("found") else ["vLLM"]
        if engine == "tgi":
            return tgi_missing
        if engine == "vllm":
            return vllm_missing
        return tgi_missing + vllm_missing if tgi_missing and vllm_missing else []

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _docker() -> dict[str, Any]:
    from llmserve.runtimes import docker

    try:
        client = docker.connect()
    except LlmserveError as error:
        return {"reachable": False, "problem": error.message}
    version = client.version()
    runtimes = sorted((client.info().get("Runtimes") or {}).keys())
    return {
        "reachable": True,
        "version": version.get("Version"),
        "api_version": version.get("ApiVersion"),
        "runtimes": runtimes,
        "nvidia_runtime": "nvidia" in runtimes,
    }


def _gpus(machine: Machine) -> dict[str, Any]:
    devices = [asdict(gpu) for gpu in machine.gpus]
    return {"count": len(devices), "source": machine.gpu_source, "devices": devices}


def _machine(machine: Machine) -> dict[str, Any]:
    from llmserve.defaults import machine_defaults

    data = machine.to_dict()
    return {
        "cpu": data["cpu"],
        "memory": data["memory"],
        "defaults": [choice.to_dict() for choice in machine_defaults(machine)],
    }


def _vllm() -> dict[str, Any]:
    from llmserve.engines.vllm_discovery import find_vllm

    script = shutil.which("vllm")
    try:
        found = find_vllm()
    except LlmserveError as error:
        return {"found": False, "script": script, "problem": error.message}
    return {
        "found": True,
        "python": found.python,
        "version": found.version,
        "distribution": found.distribution,
        "script": script,
        "script_works": found.launcher == "script",
        "cpu_build": found.is_cpu_build,
    }


def _disk() -> dict[str, Any]:
    cache = Path(default_hf_cache())
    existing = next(p for p in (cache, *cache.parents) if p.exists())
    return {"hf_cache": str(cache), "free_gib": round(shutil.disk_usage(existing).free / 2**30, 1)}


def _hf_token() -> dict[str, Any]:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name):
            return {"present": True, "source": f"${name}"}
    token_file = Path(default_hf_cache()) / "token"
    if token_file.is_file():
        return {"present": True, "source": str(token_file)}
    return {"present": False, "source": None}


def model_availability(model: str, revision: str | None, engine: str | None) -> dict[str, Any]:
    """The launch preflight's model check, as a finding: where the model is, or why it cannot be had."""
    from llmserve import availability
    from llmserve.modelfacts import ModelUnavailable
    from llmserve.spec import build_spec

    spec = build_spec({"engine": engine or "vllm", "model": model, "revision": revision})
    try:
        facts = availability.check(spec)
    except ModelUnavailable as unavailable:
        return {
            "model": spec.model,
            "revision": revision,
            "available": False,
            "reason": unavailable.reason.value,
            "problem": unavailable.message,
        }
    return {"available": True, **facts.to_dict(), "fit": model_fit(spec, facts)}


def model_fit(spec: ServeSpec, facts: ModelFacts) -> dict[str, Any] | None:
    """The fit estimate for the model served with defaults on this machine (`llmserve fit`'s)."""
    from llmserve.launch import settle

    try:
        estimate = settle(spec, tolerate_missing_vllm=True, need_estimate=True, facts=facts).estimate
    except LlmserveError as error:
        return {"problem": error.message}
    if estimate is None:
        return None
    refusal = estimate.refusal() if not estimate.fits and estimate.problem else None
    return {**estimate.to_dict(), "table": estimate.table(), "refusal": refusal}


def gather(model: str | None = None, revision: str | None = None, engine: str | None = None) -> Report:
    from llmserve.lifecycle import list_servers

    machine = machine_module.read_machine()
    return Report(
        docker=_docker(),
        gpus=_gpus(machine),
        machine=_machine(machine),
        vllm=_vllm(),
        disk=_disk(),
        hf_token=_hf_token(),
        servers=[{"name": s.name, "endpoint": s.endpoint, "state": s.state} for s in list_servers()],
        model=model_availability(model, revision, engine) if model is not None else None,
    )


def describe(report: Report) -> list[str]:
    """Human lines, one finding each."""
    lines = []
    docker = report.docker
    if docker["reachable"]:
        nvidia = (
            "NVIDIA runtime present"
            if docker["nvidia_runtime"]
            else "no NVIDIA runtime (GPU containers fail)"
        )
        lines.append(f"docker:   {docker['version']} (API {docker['api_version']}), {nvidia}")
    else:
        lines.append(f"docker:   not reachable: {docker['problem']}")
    gpus = report.gpus
    if gpus["count"]:
        for gpu in gpus["devices"]:
            memory = f"{gpu['memory_free_mib']}/{gpu['memory_total_mib']} MiB free"
            lines.append(
                f"gpu {gpu['index']}:    {gpu['name']}, {memory}, compute capability "
                f"{gpu['compute_capability']}, driver {gpu['driver']} (from {gpus['source']})"
            )
    else:
        lines.append("gpus:     none found (neither nvidia-smi nor NVML answers): engines run on CPU")
    lines += _machine_lines(report.machine)
    vllm = report.vllm
    if vllm["found"]:
        script = (
            ""
            if vllm["script_works"]
            else " (its `vllm` script is broken or absent: llmserve runs the module)"
        )
        lines.append(f"vllm:     {vllm['distribution']} {vllm['version']} in {vllm['python']}{script}")
    else:
        lines.append(f"vllm:     not found: {vllm['problem']}")
    lines.append(f"disk:     {report.disk['free_gib']} GiB free under {report.disk['hf_cache']}")
    token = report.hf_token
    presence = f"present ({token['source']})" if token["present"] else "absent (gated models fail)"
    lines.append(f"hf token: {presence}")
    for server in report.servers:
        lines.append(f"server:   {server['name']} on {server['endpoint']} ({server['state']})")
    if report.model is not None:
        lines.append(describe_model(report.model))
    return lines


def describe_model(finding: dict[str, Any]) -> str:
    """The model's line; a refusal is left to the error line the command ends with, said once."""
    if not finding["available"]:
        return f"model:    {finding['model']}: cannot be had ({finding['reason']})"
    where = {"local": "local directory", "cache": "HF cache", "hub": "hub"}[finding["source"]]
    size = finding["weight_bytes"] / 2**30
    gated = ", gated (the token is accepted)" if finding["gated"] else ""
    line = (
        f"model:    {finding['model']}: {where} {finding['location']}, config.json read, "
        f"{len(finding['weight_files'])} weight file(s), {size:.2f} GiB{gated}"
    )
    return "\n".join([line, *_fit_lines(finding.get("fit"))])


def _fit_lines(estimate: dict[str, Any] | None) -> list[str]:
    if estimate is None:
        return []
    if "table" not in estimate:
        return [f"fit:      cannot be estimated: {estimate['problem']}"]
    return [f"fit:      {line}" for line in estimate["table"]]


def _machine_lines(machine: dict[str, Any]) -> list[str]:
    if not machine:
        return []
    cpu, memory = machine["cpu"], machine["memory"]
    bf16 = ", ".join(cpu["flags"]) if cpu["flags"] else "no bfloat16 instructions"
    lines = [
        f"cpu:      {cpu['model']}, {cpu['usable_cores']} usable core(s), {bf16}",
        f"memory:   {memory['available_bytes'] / 2**30:.1f} of "
        f"{memory['total_bytes'] / 2**30:.1f} GiB available",
    ]
    for choice in machine["defaults"]:
        lines.append(
            f"default:  {choice['engine']}: {choice['field']} {choice['value']} ({choice['reason']})"
        )
    return lines
