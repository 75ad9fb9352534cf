"""Every engine flag and every spec field llmserve knows is classified; a new one without a class fails."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from llmserve.engines import render
from llmserve.engines.flags import TGI_FLAGS, VLLM_FLAGS, lookup
from llmserve.engines.vllm import VllmInstallation
from llmserve.spec import ServeSpec, TgiOptions, VllmOptions, build_spec
from llmserve.translate import MAPPINGS_BY_FIELD

STANDIN = Path(__file__).parents[1] / "fixtures" / "tgi_standin" / "text-generation-launcher"


def spec_fields() -> set[str]:
    fields = {name for name in ServeSpec.model_fields if name not in ("tgi", "vllm")}
    fields |= {f"tgi.{name}" for name in TgiOptions.model_fields}
    fields |= {f"vllm.{name}" for name in VllmOptions.model_fields}
    return fields


def test_every_spec_field_has_a_mapping_between_the_engines() -> None:
    assert spec_fields() - set(MAPPINGS_BY_FIELD) == set()
    assert set(MAPPINGS_BY_FIELD) - spec_fields() == set()


def test_flag_fields_are_spec_fields() -> None:
    for table in (TGI_FLAGS, VLLM_FLAGS):
        for flag in table.values():
            if flag.kind == "field":
                assert flag.field in spec_fields(), flag
            else:
                assert flag.field is None, flag


def test_the_stand_in_knows_exactly_the_tgi_flags_llmserve_classifies() -> None:
    standin: dict[str, Any] = runpy.run_path(str(STANDIN), run_name="standin")
    assert set(standin["FLAGS"]) == set(TGI_FLAGS)
    for name, takes_value in standin["FLAGS"].items():
        assert TGI_FLAGS[name].takes_value == takes_value, name


EVERYTHING: dict[str, Any] = {
    "revision": "main", "tensor_parallel_size": 2, "max_model_len": 4096, "trust_remote_code": True,
    "lora_adapters": ["a=/x"], "gpus": "0,1",
}  # fmt: skip


def rendered_flags(argv: tuple[str, ...] | list[str]) -> list[str]:
    return [word for word in argv if word.startswith("-")]


def test_every_flag_the_tgi_renderer_emits_is_classified() -> None:
    spec = build_spec(
        {**EVERYTHING, "engine": "tgi", "model": "gpt2", "quantization": "awq",
         "tgi": {"max_input_tokens": 100, "max_batch_prefill_tokens": 200, "max_batch_total_tokens": 9000,
                 "max_concurrent_requests": 8}}
    )  # fmt: skip
    launch = render(spec).launch
    assert hasattr(launch, "command")
    for word in rendered_flags(launch.command):
        assert lookup(TGI_FLAGS, word) is not None, word


def test_every_flag_the_vllm_renderer_emits_is_classified() -> None:
    installation = VllmInstallation(python="p", version="0.9.0", distribution="vllm", launcher="script")
    spec = build_spec(
        {**EVERYTHING, "engine": "vllm", "model": "m", "quantization": "awq", "dtype": "bfloat16",
         "served_model_name": "s",
         "vllm": {"impl": "transformers", "gpu_memory_utilization": 0.5, "enforce_eager": True}}
    )  # fmt: skip
    launch = render(spec, installation).launch
    assert hasattr(launch, "argv")
    for word in rendered_flags(launch.argv):
        assert lookup(VLLM_FLAGS, word) is not None, word


def test_lookup_by_long_and_short_names() -> None:
    assert lookup(VLLM_FLAGS, "-tp") is VLLM_FLAGS["tensor-parallel-size"]
    assert lookup(VLLM_FLAGS, "--max-model-len=4096") is VLLM_FLAGS["max-model-len"]
    assert lookup(TGI_FLAGS, "-p") is TGI_FLAGS["port"]
    assert lookup(TGI_FLAGS, "--no-such-flag") is None
