"""Version-true values and right defaults, against the real vLLM CPU engine.

A broad generated set of specs is rendered for the installed vLLM and every line is parsed by that
vLLM's own argument parser (one subprocess of its interpreter, one batch), then checked against its
quantization registry and model implementations: what llmserve renders must parse to what was meant
and pass; what llmserve refuses, rendered anyway, must be refused by the engine too. Then SmolLM2,
served with llmserve's defaults for this machine, must answer the capital question right.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from llmserve import engines
from llmserve.engines import accepted
from llmserve.engines.vllm import VllmInstallation
from llmserve.engines.vllm_discovery import find_vllm
from llmserve.errors import SpecError
from llmserve.plan import ContainerLaunch, ProcessLaunch
from llmserve.spec import ServeSpec
from tests.integration.conftest import Llmserve, free_port

pytestmark = pytest.mark.vllm

READY_TIMEOUT = 600
SPEC_COUNT = 700

# Runs in vLLM's interpreter: parse each command line as `python -m …api_server` or the image's
# `vllm serve` would, and check it against the registry vLLM itself consults at start-up.
PARSER = r"""
import json, sys, typing
from vllm.utils.argparse_utils import FlexibleArgumentParser
from vllm.entrypoints.launchers.cli_args import make_arg_parser
from vllm.entrypoints.cli.serve import ServeSubcommand
from vllm.model_executor.layers import quantization as q
from vllm.config.model import ModelImpl

module_parser = make_arg_parser(FlexibleArgumentParser())
top = FlexibleArgumentParser()
ServeSubcommand().subparser_init(top.add_subparsers(dest="subparser"))
impls = list(typing.get_args(ModelImpl))
results = []
for case in json.load(sys.stdin):
    try:
        if case["form"] == "module":
            ns = module_parser.parse_args(case["args"])
        else:
            ns = top.parse_args(["serve", *case["args"]])
    except SystemExit as exit:
        results.append({"parsed": False, "refused": f"argparse exit {exit.code}"})
        continue
    except Exception as error:  # a crash, not a refusal
        results.append({"parsed": False, "crash": f"{type(error).__name__}: {error}"})
        continue
    refused = None
    if ns.quantization is not None and ns.quantization not in q.QUANTIZATION_METHODS:
        refused = f"unknown quantization {ns.quantization}"
    elif ns.quantization in getattr(q, "DEPRECATED_QUANTIZATION_METHODS", []) and not getattr(
        ns, "allow_deprecated_quantization", False
    ):
        refused = f"deprecated quantization {ns.quantization}"
    elif ns.model_impl not in impls:
        refused = f"unknown model implementation {ns.model_impl}"
    results.append({
        "parsed": True,
        "refused": refused,
        "values": {
            "model": getattr(ns, "model_tag", None) or ns.model,
            "served_model_name": ns.served_model_name,
            "quantization": ns.quantization,
            "dtype": ns.dtype,
            "model_impl": ns.model_impl,
            "max_model_len": ns.max_model_len,
            "tensor_parallel_size": ns.tensor_parallel_size,
            "trust_remote_code": ns.trust_remote_code,
            "revision": ns.revision,
            "enforce_eager": ns.enforce_eager,
            "lora_modules": [[m.name, m.path] for m in (ns.lora_modules or [])],
        },
    })
print("RESULTS " + json.dumps(results))
"""

QUANTIZATIONS = [*sorted({m for _, v in accepted.table() for m in v.quantizations}), "eetq", "nonsense"]
IMPLS = [None, "auto", "vllm", "transformers", "terratorch"]
DTYPES = [None, "auto", "half", "float16", "bfloat16", "float", "float32"]
LORAS = [[], ["org/adapter"], ["sql=/lora/sql"], ["a=b=c"], ["x=/p,q"], ["one=/a", "two=org/b"]]
SERVED = [None, "smol", "a b", "-x", "org/name", "--served"]
ENGINE_ARGS = [[], ["--allow-deprecated-quantization"]]


def generated_specs() -> list[dict[str, Any]]:
    """A broad, reproducible sample of spec data over the values llmserve owns."""
    rng = random.Random(11)
    grid = list(itertools.product(QUANTIZATIONS, IMPLS, DTYPES, LORAS, SERVED, ENGINE_ARGS))
    rng.shuffle(grid)
    specs = []
    for index, (quantization, impl, dtype, loras, served, extra) in enumerate(grid[:SPEC_COUNT]):
        data: dict[str, Any] = {"engine": "vllm", "model": "org/model", "gpus": "none"}
        optional = {
            "quantization": quantization if index % 3 else None,
            "dtype": dtype,
            "served_model_name": served,
            "max_model_len": [None, 256, 4096][index % 3],
            "tensor_parallel_size": [None, 1, 2][index % 3],
            "revision": "main" if index % 5 == 0 else None,
            "trust_remote_code": index % 4 == 0,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        if impl is not None:
            data["vllm"] = {"impl": impl}
        if loras:
            data["lora_adapters"] = loras
        if extra:
            data["engine_args"] = extra
        if index % 7 == 0:
            data["runtime"] = "docker"  # the default CPU image, v0.32.0: `vllm serve` entry point
        specs.append(data)
    return specs


def command_line(spec: ServeSpec, installation: VllmInstallation) -> dict[str, Any]:
    plan = engines.render(spec, installation)
    if isinstance(plan.launch, ContainerLaunch):
        return {"form": "serve", "args": list(plan.launch.command)}
    assert isinstance(plan.launch, ProcessLaunch)
    argv = list(plan.launch.argv)
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    return {"form": "module", "args": argv[3:]}


def intended(spec: ServeSpec) -> dict[str, Any]:
    loras = [a.partition("=")[::2] for a in spec.lora_adapters]
    return {
        "model": spec.model,
        "served_model_name": [spec.served_model_name] if spec.served_model_name else None,
        "quantization": spec.quantization,
        "dtype": spec.dtype or "auto",
        "model_impl": spec.vllm.impl or "auto",
        "max_model_len": spec.max_model_len,
        "tensor_parallel_size": spec.tensor_parallel_size or 1,
        "trust_remote_code": spec.trust_remote_code,
        "revision": spec.revision,
        "enforce_eager": spec.vllm.enforce_eager,
        "lora_modules": [[name, path or name] for name, path in loras],
    }


def parse_with_vllm(vllm_python: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [vllm_python, "-c", PARSER],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("RESULTS ")), None)
    assert line is not None, f"vLLM's parser did not answer:\n{result.stderr[-4000:]}"
    parsed: list[dict[str, Any]] = json.loads(line.removeprefix("RESULTS "))
    assert len(parsed) == len(cases)
    return parsed


def spec_refused(data: dict[str, Any]) -> ServeSpec:
    """The spec with the fields llmserve refuses set anyway (one failing rule can hide the next)."""
    bad: set[str] = set()
    while True:
        try:
            valid = ServeSpec(**{key: value for key, value in data.items() if key not in bad})
        except ValidationError as error:
            bad |= {  # the field, from where it failed or from the model rule that names it
                str(item["loc"][0]) if item["loc"] else str(item["ctx"]["error"].field)
                for item in error.errors()
            }
            continue
        return valid.model_copy(update={key: data[key] for key in bad})


def test_every_render_is_what_the_installed_vllm_accepts(vllm_python: str) -> None:
    installation = find_vllm(vllm_python)
    assert installation.package_dir, "the probe finds vLLM's package directory"
    values = accepted.vllm_values(ServeSpec(engine="vllm", model="m"), installation)
    assert values is not None and values.source == "installed"  # read from its own source

    specs, cases, refusals = [], [], []
    for data in generated_specs():
        refusal: str | None = None
        try:
            spec = ServeSpec(**data)
        except ValidationError as error:  # refused by the spec's grammar: render it as a naive launcher would
            spec, refusal = spec_refused(data), str(error)
        else:
            try:
                accepted.check(spec, installation)
            except SpecError as error:
                refusal = error.message
        specs.append(spec)
        refusals.append(refusal)
        cases.append(command_line(spec, installation))  # refused specs too: what a naive launcher runs
    results = parse_with_vllm(vllm_python, cases)

    crashes = [(c["args"], r["crash"]) for c, r in zip(cases, results, strict=True) if "crash" in r]
    assert crashes == []
    wrong: list[tuple[Any, ...]] = []
    for spec, case, refusal, result in zip(specs, cases, refusals, results, strict=True):
        engine_refuses = not result["parsed"] or result["refused"] is not None
        if refusal is None:
            if engine_refuses:
                wrong.append(("accepted by llmserve, refused by vLLM", case["args"], result))
            elif result["values"] != intended(spec):
                wrong.append(("parsed otherwise than meant", case["args"], result["values"], intended(spec)))
        elif not engine_refuses:
            wrong.append(("refused by llmserve, accepted by vLLM", case["args"], refusal))
    assert wrong == [], "\n".join(map(str, wrong[:10]))
    accepted_count = refusals.count(None)
    assert accepted_count > SPEC_COUNT // 3 and len(specs) - accepted_count > 50  # both sides exercised


def test_smollm2_with_llmserve_defaults_answers_right(
    llmserve: Callable[..., Llmserve], smollm2_model: str, vllm_python: str
) -> None:
    """No --dtype, no --enforce-eager, no KV cache size: llmserve's defaults for this CPU."""
    port = free_port()
    server = llmserve(
        ["vllm", smollm2_model, "--impl", "transformers", "--max-model-len", "1024",
         "--served-model-name", "smol", "--vllm-python", vllm_python, "--port", str(port)]
    )  # fmt: skip
    server.wait_for("ready: vllm is serving smol", timeout=READY_TIMEOUT)
    err = "".join(server.stderr)
    assert "default dtype float32" in err
    assert "default vllm.enforce_eager true" in err
    reply = httpx.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        json={
            "model": "smol",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 32,
            "temperature": 0,
        },
        timeout=300,
    )
    assert reply.status_code == 200
    answer = reply.json()["choices"][0]["message"]["content"]
    assert "Paris" in answer, answer
    server.stop()
    assert server.process.returncode is not None
