"""What each engine version accepts: the tables taken from each version's source, and the refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmserve.engines import accepted
from llmserve.engines import vllm as vllm_engine
from llmserve.engines.vllm_source import VllmValues
from llmserve.errors import SpecError
from llmserve.spec import ServeSpec, build_spec
from llmserve.vllm_tables import VLLM_VALUES

# What llmserve offered before it read each version's own values.
FORMER_OFFER = [
    "awq",
    "awq_marlin",
    "bitsandbytes",
    "compressed-tensors",
    "experts_int8",
    "fbgemm_fp8",
    "fp8",
    "gguf",
    "gptq",
    "gptq_marlin",
    "marlin",
    "modelopt",
    "mxfp4",
    "torchao",
]


def spec(**fields: Any) -> ServeSpec:
    return ServeSpec(**{"engine": "vllm", "model": "org/model", **fields})


def values(version: str) -> VllmValues:
    found = accepted.table_values(version)
    assert found is not None
    return found


def test_032_lacks_three_former_offers_and_deprecates_a_fourth() -> None:
    v032 = values("0.32.0")
    assert [m for m in FORMER_OFFER if m not in v032.quantizations] == ["bitsandbytes", "gguf", "marlin"]
    assert "fbgemm_fp8" in v032.deprecated_quantizations


@pytest.mark.parametrize(
    ("version", "method", "has"),
    [
        ("0.7.3", "torchao", False),
        ("0.8.5", "torchao", True),
        ("0.10.0", "mxfp4", False),
        ("0.10.1", "mxfp4", True),
        ("0.10.1", "marlin", True),
        ("0.10.2", "marlin", False),
        ("0.23.0", "gguf", True),
        ("0.24.0", "gguf", False),
        ("0.27.0", "bitsandbytes", True),
        ("0.28.0", "bitsandbytes", False),
        ("0.33.0", "compressed-tensors", True),
    ],
)
def test_quantization_history(version: str, method: str, has: bool) -> None:
    assert (method in values(version).quantizations) is has


def test_model_impl_history() -> None:
    assert values("0.7.0").model_impls == ()
    assert values("0.7.2").model_impls == ("auto", "vllm", "transformers")
    assert "terratorch" not in values("0.10.1").model_impls
    assert values("0.10.2").model_impls == ("auto", "vllm", "transformers", "terratorch")


@pytest.mark.parametrize(
    ("version", "row"),
    [
        ("0.10.1.1", "0.10.1"),
        ("v0.21.0", "0.20.0"),
        ("0.6.6", "0.7.0"),
        ("0.40.1", "0.33.0"),
        ("0.32.0+cpu", "0.32.0"),
    ],
)
def test_a_version_takes_the_row_at_or_below_it(version: str, row: str) -> None:
    found = values(version)
    assert found.source == f"table for {row}"
    assert found.quantizations == values(row).quantizations


def test_tables_are_ordered_and_whole() -> None:
    versions = [vllm_engine.parse_version(v) or (0, 0, 0) for v in VLLM_VALUES]
    assert (0, 0, 0) not in versions
    assert versions == sorted(versions)
    for methods, _, impls in VLLM_VALUES.values():
        assert {"awq", "fp8", "gptq"} <= set(methods.split())  # in every version: the rows read whole
        assert not set(impls.split()) - {"auto", "vllm", "transformers", "terratorch"}


@pytest.mark.parametrize(
    ("fields", "version", "message"),
    [
        (
            {"quantization": "gguf"},
            "0.32.0",
            "'gguf' is not accepted by vLLM 0.32.0 (vLLM 0.7.0 to 0.23.0 have it)",
        ),
        (
            {"quantization": "torchao"},
            "0.7.3",
            "'torchao' is not accepted by vLLM 0.7.3 (vLLM 0.8.5 to 0.33.0 have it)",
        ),
        ({"quantization": "mxfp4"}, "0.10.0", "(vLLM 0.10.1 to 0.33.0 have it)"),
        (
            {"quantization": "fbgemm_fp8"},
            "0.32.0",
            "'fbgemm_fp8' is deprecated in vLLM 0.32.0, which refuses it unless told "
            "--allow-deprecated-quantization; add `-- --allow-deprecated-quantization`",
        ),
        (
            {"vllm": {"impl": "terratorch"}},
            "0.10.1",
            "vllm.impl: 'terratorch' is not accepted by vLLM 0.10.1 (vLLM 0.10.2 to 0.33.0 have it)",
        ),
        (
            {"vllm": {"impl": "transformers"}},
            "0.7.0",
            "this version has no --model-impl: remove it, or run a version that has it",
        ),
    ],
)
def test_refusals_name_the_versions_that_have_it(fields: dict[str, Any], version: str, message: str) -> None:
    with pytest.raises(SpecError) as refused:
        accepted.check(spec(vllm={"version": version, **fields.pop("vllm", {})}, **fields), None)
    assert message in refused.value.message


def test_what_the_version_has_passes() -> None:
    accepted.check(spec(quantization="gguf", vllm={"version": "0.9.2"}), None)
    accepted.check(spec(quantization="fbgemm_fp8", vllm={"version": "0.13.0"}), None)
    accepted.check(
        spec(
            quantization="fbgemm_fp8",
            vllm={"version": "0.32.0"},
            engine_args=["--allow-deprecated-quantization"],
        ),
        None,
    )
    accepted.check(spec(vllm={"version": "0.33.0", "impl": "terratorch"}), None)


def test_an_unknown_version_accepts_what_some_version_has() -> None:
    accepted.check(spec(quantization="gguf"), None)
    with pytest.raises(SpecError, match=r"'eetq' is not a vLLM method in any version llmserve knows"):
        build_spec({"engine": "vllm", "model": "org/model", "quantization": "eetq"})


def test_docker_images_are_checked_by_their_tag() -> None:
    with pytest.raises(SpecError, match=r"not accepted by vLLM 0\.32\.0"):
        accepted.check(spec(runtime="docker", quantization="gguf"), None)  # the default image, v0.32.0
    accepted.check(spec(runtime="docker", image="vllm/vllm-openai:v0.9.2", quantization="gguf"), None)
    accepted.check(spec(runtime="docker", image="vllm/vllm-openai:nightly-abc", quantization="gguf"), None)


def test_an_installation_without_readable_source_uses_the_table() -> None:
    installation = vllm_engine.VllmInstallation(
        "/py", "0.10.1", "vllm", "script", "/bin/vllm", package_dir=None
    )
    found = accepted.vllm_values(spec(), installation)
    assert found is not None and found.source == "table for 0.10.1"


@pytest.mark.parametrize(
    ("image", "fields", "message"),
    [
        ("2.4.0", {"quantization": "compressed-tensors"}, "not accepted by TGI 2.4.0 (TGI 2.4.1 and later"),
        ("1.4.5", {"quantization": "fp8"}, "(TGI 2.0.0 and later"),
        ("2.0.4", {"quantization": "exl2"}, "(TGI 2.1.0 and later"),
        (
            "2.0.4",
            {"lora_adapters": ["org/adapter"]},
            "TGI 2.0.4 has no --lora-adapters (TGI 2.1.0 and later",
        ),
        (
            "2.2.0",
            {"lora_adapters": ["a=org/adapter"]},
            "TGI 2.2.0 takes adapter ids only (name=path from TGI 2.3.0)",
        ),
        ("3.3.7", {"lora_adapters": ["a=b=c"]}, "allows one '=' and one '@'"),
        ("3.3.7", {"lora_adapters": ["a,b"]}, "splits the list on commas"),
    ],
)
def test_tgi_refusals_by_image_tag(image: str, fields: dict[str, Any], message: str) -> None:
    given = ServeSpec(
        engine="tgi", model="gpt2", image=f"ghcr.io/huggingface/text-generation-inference:{image}", **fields
    )
    with pytest.raises(SpecError) as refused:
        accepted.check(given, None)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("image", "fields"),
    [
        ("2.4", {"quantization": "compressed-tensors"}),  # a minor tag names its newest patch: 2.4.1
        ("2.4.1-rocm", {"quantization": "compressed-tensors"}),
        ("3.3.7", {"lora_adapters": ["a=org/adapter@main", "org/b"]}),
        ("sha-0123abc", {"quantization": "compressed-tensors"}),
    ],
)
def test_tgi_accepts_what_its_release_has(image: str, fields: dict[str, Any]) -> None:
    accepted.check(
        ServeSpec(
            engine="tgi",
            model="gpt2",
            image=f"ghcr.io/huggingface/text-generation-inference:{image}",
            **fields,
        ),
        None,
    )


@pytest.mark.parametrize(
    ("adapter", "rendered"),
    [
        ("org/adapter", "org/adapter=org/adapter"),
        ("sql=/lora/sql", "sql=/lora/sql"),
        ("a=b=c", json.dumps({"name": "a", "path": "b=c"})),
        ("a=/x,y", json.dumps({"name": "a", "path": "/x,y"})),
    ],
)
def test_lora_entries_take_a_form_vllm_parses(adapter: str, rendered: str) -> None:
    flags = vllm_engine.serve_flags(spec(lora_adapters=[adapter]), "0.32.0")
    assert flags == ["--enable-lora", "--lora-modules", rendered]


@pytest.mark.parametrize(
    ("image", "head"),
    [
        ("vllm/vllm-openai:v0.9.2", ["--model", "org/model", "--host"]),
        ("vllm/vllm-openai:v0.11.0", ["--model", "org/model", "--host"]),
        ("vllm/vllm-openai:v0.11.1", ["org/model", "--host"]),
        ("vllm/vllm-openai:v0.32.0", ["org/model", "--host"]),
        ("vllm/vllm-openai:nightly", ["org/model", "--host"]),
    ],
)
def test_docker_command_takes_the_form_of_the_image_entry_point(image: str, head: list[str]) -> None:
    plan = vllm_engine.render(spec(runtime="docker", image=image))
    command = plan.to_dict()["launch"]["command"]
    assert command[: len(head)] == head
