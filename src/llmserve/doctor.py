"""`llmserve doctor`: what this machine offers each engine, and what is missing."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmserve.errors import LlmserveError
from llmserve import machine as machine_module
from llmserve.machine import Machine
from llmserve.spec import default_hf_cache


@dataclass
class Report:
    docker: dict[str, Any] = field(default_factory=dict)
    gpus: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)  # CPU, memory, and the defaults they imply
    vllm: dict[str, Any] = field(default_factory=dict)
    disk: dict[str, Any] = field(default_factory=dict)
    hf_token: dict[str, Any] = field(default_factory=dict)
    servers: list[dict[str, Any]] = field(default_factory=list)

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


def gather() -> Report:
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
    return lines


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
