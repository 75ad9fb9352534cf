"""The fit estimate on published architectures (sparse weight files of their real size) against
recorded machines: the H200 (nvidia-smi as it printed), the 2-core EPYC of the CPU engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve import fit, machine
from llmserve.cli import app
from llmserve.errors import ExitCode
from llmserve.modelfacts import HubAccess, ModelFacts, read
from llmserve.spec import ServeSpec
from tests.fixtures.sparse_models import NAMES, PUBLISHED, sparse_model
from tests.unit.recorded import FIXTURES, MACHINES, recorded

GIB = 2**30
H200_CSV = (FIXTURES / "nvidia-h200" / "nvidia-smi-query-noheader.csv").read_text().strip()
runner = CliRunner()


def h200s(count: int) -> machine.Machine:
    """The recorded EPYC host with `count` GPUs, each as the recorded H200 printed itself."""
    _, rest = H200_CSV.split(",", 1)
    csv = "\n".join(f"{index},{rest}" for index in range(count))
    folder = MACHINES / "amd-epyc-avx2"
    return machine.recorded_machine((folder / "cpuinfo").read_text(), (folder / "meminfo").read_text(), csv)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelFacts]:
    root = tmp_path_factory.mktemp("published")
    access = HubAccess(cache_dir=None)
    return {name: read(str(sparse_model(name, root)), None, access) for name in NAMES}


def settle(
    facts: ModelFacts,
    on: machine.Machine,
    *,
    cpu: bool = False,
    autos: fit.Autos | None = None,
    **fields: object,
) -> fit.Settled:
    spec = ServeSpec.model_validate(
        {"engine": "vllm", "model": facts.model, "gpus": "none" if cpu else "all", **fields}
    )
    return fit.settle(spec, facts, on, cpu_engine=cpu, engine_version="0.32.0", autos=autos or fit.Autos())


def test_sparse_weight_files_have_their_published_size_and_take_no_disk(
    models: dict[str, ModelFacts],
) -> None:
    llama = models["llama-3.1-70b-instruct"]
    assert llama.weight_bytes == 141_107_412_992
    assert len(llama.weight_files) == 30
    on_disk = sum(Path(llama.location, w.name).stat().st_blocks * 512 for w in llama.weight_files)
    assert on_disk < 2**20


@pytest.mark.parametrize("name", NAMES)
def test_parameters_from_config_match_the_published_weights(name: str, models: dict[str, ModelFacts]) -> None:
    """config.json alone gives the parameter count that the bfloat16 weight files hold (2 bytes each)."""
    facts = models[name]
    arch = fit.Architecture.from_config(facts.config, name)
    assert arch.parameters * 2 == pytest.approx(facts.weight_bytes, rel=0.01)


@pytest.mark.parametrize(
    ("name", "tp", "per_token"),
    [
        # 2 (K, V) x layers x max(1, kv_heads // tp) x head_dim x 2 bytes (bfloat16)
        ("qwen2.5-1.5b-instruct", 1, 2 * 28 * 2 * 128 * 2),
        ("qwen2.5-1.5b-instruct", 4, 2 * 28 * 1 * 128 * 2),  # 2 KV heads replicated over 4 GPUs
        ("mistral-7b-instruct-v0.3", 1, 2 * 32 * 8 * 128 * 2),
        ("llama-3.1-70b-instruct", 1, 2 * 80 * 8 * 128 * 2),
        ("llama-3.1-70b-instruct", 2, 2 * 80 * 4 * 128 * 2),
        ("mixtral-8x7b-instruct-v0.1", 1, 2 * 32 * 8 * 128 * 2),
    ],
)
def test_kv_cache_per_token_is_vllms(
    name: str, tp: int, per_token: int, models: dict[str, ModelFacts]
) -> None:
    estimate = settle(models[name], h200s(8), tensor_parallel_size=tp).estimate
    assert estimate.kv_bytes_per_token == per_token
    assert estimate.block_size == 16


def test_model_lengths_come_from_the_config_as_vllm_derives_them(models: dict[str, ModelFacts]) -> None:
    lengths = {name: fit.Architecture.from_config(models[name].config, name).max_length for name in NAMES}
    # Llama 3.1's rope_scaling (llama3) is already in max_position_embeddings: not scaled again.
    assert lengths == {
        "qwen2.5-1.5b-instruct": 32768,
        "mistral-7b-instruct-v0.3": 32768,
        "llama-3.1-70b-instruct": 131072,
        "mixtral-8x7b-instruct-v0.1": 32768,
    }


def test_linear_rope_scaling_multiplies_the_context() -> None:
    config = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "vocab_size": 10,
              "max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 4.0}}  # fmt: skip
    assert fit.Architecture.from_config(config, "m").max_length == 16384


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("num_hidden_layers", float("inf")),
        ("num_hidden_layers", 1e300),
        ("num_hidden_layers", 30.5),
        ("max_position_embeddings", float("inf")),
        ("max_position_embeddings", 10**30),
        ("max_position_embeddings", 10**400),
        ("hidden_size", 10**400),
    ],
)
def test_counts_that_are_not_sane_whole_numbers_cannot_be_estimated(key: str, value: float) -> None:
    config = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "vocab_size": 10,
              "max_position_embeddings": 4096, key: value}  # fmt: skip
    with pytest.raises(fit.CannotEstimate, match=key):
        fit.Architecture.from_config(config, "m")


@pytest.mark.parametrize(
    "name", ["qwen2.5-1.5b-instruct", "mistral-7b-instruct-v0.3", "mixtral-8x7b-instruct-v0.1"]
)
def test_what_fits_one_h200_fits(name: str, models: dict[str, ModelFacts]) -> None:
    estimate = settle(models[name], recorded("amd-epyc-avx2", gpus="nvidia-h200")).estimate
    assert estimate.fits, estimate.table()
    assert estimate.smallest_tensor_parallel_size == 1
    assert estimate.longest_context == estimate.model_max_length


def test_llama_70b_does_not_fit_one_h200_and_the_fix_says_how(models: dict[str, ModelFacts]) -> None:
    estimate = settle(
        models["llama-3.1-70b-instruct"], recorded("amd-epyc-avx2", gpus="nvidia-h200")
    ).estimate
    assert not estimate.fits
    # 141.1 GB of bfloat16 weights against 0.92 x 143771 MiB
    assert estimate.weights_bytes == 141_107_412_992
    assert estimate.kv_budget_bytes < 0
    assert estimate.smallest_tensor_parallel_size == 2
    assert estimate.fixes == ("--tp 2 (2 such GPUs; 1 visible)", "-q fp8")
    line = estimate.refusal()
    assert "\n" not in line
    assert "does not fit: weights 131.42 GiB" in line
    assert "use --tp 2 (2 such GPUs; 1 visible) or -q fp8" in line


def test_fp8_halves_the_linear_layers_and_then_llama_70b_fits_one_h200(models: dict[str, ModelFacts]) -> None:
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    estimate = settle(models["llama-3.1-70b-instruct"], h200, quantization="fp8").estimate
    assert estimate.fits, estimate.table()
    embeddings = 2 * 128256 * 8192
    assert estimate.weights_bytes == pytest.approx(
        embeddings * 2 + (141_107_412_992 / 2 - embeddings), rel=1e-6
    )


def test_tp_auto_picks_the_smallest_that_fits_the_visible_gpus(models: dict[str, ModelFacts]) -> None:
    eight = h200s(8)
    auto = fit.Autos(tensor_parallel_size=True)
    llama = settle(models["llama-3.1-70b-instruct"], eight, autos=auto)
    assert llama.spec.tensor_parallel_size == 2
    assert llama.estimate.fits
    assert [(c.field, c.value) for c in llama.choices] == [("tensor_parallel_size", "2")]
    assert settle(models["mixtral-8x7b-instruct-v0.1"], eight, autos=auto).spec.tensor_parallel_size == 1


def test_tp_auto_with_too_few_gpus_keeps_the_refusal(models: dict[str, ModelFacts]) -> None:
    one = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    settled = settle(models["llama-3.1-70b-instruct"], one, autos=fit.Autos(tensor_parallel_size=True))
    assert settled.spec.tensor_parallel_size == 1
    assert not settled.estimate.fits


def test_autos_with_no_gpu_visible_say_so(models: dict[str, ModelFacts]) -> None:
    autos = fit.Autos(tensor_parallel_size=True, max_model_len=True)
    settled = settle(models["qwen2.5-1.5b-instruct"], h200s(0), autos=autos)
    reasons = {c.field: c.reason for c in settled.choices}
    assert reasons.keys() == {"tensor_parallel_size", "max_model_len"}
    assert all("no GPU is visible" in reason for reason in reasons.values())
    assert settled.spec.max_model_len is None  # left to the engine, not guessed


def test_a_context_too_long_for_what_is_left_gets_the_longest_that_fits(
    models: dict[str, ModelFacts],
) -> None:
    """Mixtral's 87 GiB of weights leave little of 66 % of an H200: the full 32768 tokens do not fit."""
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    mixtral = models["mixtral-8x7b-instruct-v0.1"]
    estimate = settle(mixtral, h200, vllm={"gpu_memory_utilization": 0.66}).estimate
    assert not estimate.fits
    longest = estimate.longest_context
    assert 0 < longest < 32768 and longest % 16 == 0
    assert f"--max-model-len {longest}" in estimate.fixes
    assert "one request of 32768 tokens needs 4.00 GiB of KV cache" in (estimate.problem or "")
    # The longest is exact: one more block does not fit.
    assert settle(mixtral, h200, vllm={"gpu_memory_utilization": 0.66}, max_model_len=longest).estimate.fits
    over = settle(mixtral, h200, vllm={"gpu_memory_utilization": 0.66}, max_model_len=longest + 16).estimate
    assert not over.fits
    auto = settle(mixtral, h200, vllm={"gpu_memory_utilization": 0.66}, autos=fit.Autos(max_model_len=True))
    assert auto.spec.max_model_len == longest
    assert auto.estimate.fits


def test_a_gpu_busy_with_other_work_does_not_fit(models: dict[str, ModelFacts]) -> None:
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    estimate = settle(models["qwen2.5-1.5b-instruct"], h200, vllm={"gpu_memory_utilization": 1.0}).estimate
    # nvidia-smi showed 143156 of 143771 MiB free: less than all of it.
    assert not estimate.fits
    assert "free the GPU or lower --gpu-memory-utilization" in (estimate.problem or "")


def test_cpu_engine_kv_cache_is_the_space_given(models: dict[str, ModelFacts]) -> None:
    """vLLM's CPU engine: float32 (as the defaults choose here), blocks of 128, VLLM_CPU_KVCACHE_SPACE."""
    epyc = recorded("amd-epyc-avx2")
    qwen = models["qwen2.5-1.5b-instruct"]
    estimate = settle(qwen, epyc, cpu=True, dtype="float32", vllm={"cpu_kvcache_space": 1}).estimate
    per_token = 2 * 28 * 2 * 128 * 4
    assert estimate.kv_bytes_per_token == per_token
    assert estimate.block_size == 128
    assert estimate.weights_bytes == 2 * 3_087_467_144  # bfloat16 files, float32 in memory
    assert not estimate.fits  # 32768 tokens need 1.75 GiB
    longest = (GIB // (per_token * 128) - 1) * 128  # one block stays with the pool
    assert estimate.longest_context == longest == 18560
    assert estimate.fixes == ("--max-model-len 18560", "--cpu-kvcache-space 2")
    assert settle(qwen, epyc, cpu=True, dtype="float32", vllm={"cpu_kvcache_space": 2}).estimate.fits


def test_cpu_engine_needs_the_weights_and_the_space_in_memory(models: dict[str, ModelFacts]) -> None:
    epyc = recorded("amd-epyc-avx2")  # 23.5 GiB, 21.4 GiB available
    estimate = settle(models["mistral-7b-instruct-v0.3"], epyc, cpu=True, dtype="float32",
                      vllm={"cpu_kvcache_space": 4}, max_model_len=4096).estimate  # fmt: skip
    assert not estimate.fits
    assert "of memory available" in (estimate.problem or "")
    assert estimate.fixes == ("a smaller or quantized variant of the model",)


def test_prequantized_checkpoints_are_taken_as_stored() -> None:
    config = json.loads((PUBLISHED / "mistral-7b-instruct-v0.3" / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "awq", "bits": 4}
    facts = ModelFacts("m", None, "local", "/m", config, ())
    arch = fit.Architecture.from_config(config, "m")
    request = fit.request_for(ServeSpec(engine="vllm", model="m"), cpu_engine=False, engine_version=None)
    weights, how = fit.weights_in_memory(request, arch, 4_150_000_000, "float16")
    assert weights == 4_150_000_000
    assert "awq checkpoint" in how
    assert facts.weight_bytes == 0


def test_fp8_kv_cache_from_engine_args_halves_the_kv_cache(models: dict[str, ModelFacts]) -> None:
    h200 = h200s(1)
    plain = settle(models["mistral-7b-instruct-v0.3"], h200).estimate
    fp8 = settle(models["mistral-7b-instruct-v0.3"], h200, engine_args=["--kv-cache-dtype", "fp8"]).estimate
    assert fp8.kv_bytes_per_token * 2 == plain.kv_bytes_per_token


@pytest.mark.parametrize(
    ("key", "value"),
    [("num_key_value_heads", -8), ("num_key_value_heads", 0), ("hidden_size", -64), ("num_hidden_layers", 0),
     ("vocab_size", -1), ("head_dim", -128), ("intermediate_size", 0), ("num_local_experts", -2),
     ("hidden_size", "abc"), ("hidden_size", True), ("num_attention_heads", [2])],
)  # fmt: skip
def test_nonsense_config_values_are_invalid_not_missing(key: str, value: object) -> None:
    """A negative or zero count, or no number at all, is a broken config.json, named as such, not taken
    for a missing key."""
    config = {
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "num_attention_heads": 2,
        "vocab_size": 10,
        key: value,
    }
    with pytest.raises(
        fit.CannotEstimate, match=re.escape(f"config.json has an invalid {key} ({value!r}: not")
    ):
        fit.Architecture.from_config(config, "m")


def test_zero_experts_or_latent_size_mean_none() -> None:
    config = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "vocab_size": 10,
              "num_experts": 0, "n_shared_experts": 0, "shared_expert_intermediate_size": 0}  # fmt: skip
    assert fit.Architecture.from_config(config, "m").experts == 0


def test_a_config_without_layers_cannot_be_estimated() -> None:
    with pytest.raises(fit.CannotEstimate, match="has no num_hidden_layers"):
        fit.Architecture.from_config({"hidden_size": 64}, "org/odd")


def test_autos_are_taken_out_of_spec_data() -> None:
    data: dict[str, object] = {
        "engine": "vllm",
        "model": "m",
        "tensor_parallel_size": "auto",
        "max_model_len": 512,
    }
    autos = fit.Autos.take(data)
    assert autos == fit.Autos(tensor_parallel_size=True, max_model_len=False)
    assert data == {"engine": "vllm", "model": "m", "max_model_len": 512}


# Through the command line, on the recorded machines.


@pytest.fixture
def gpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    one = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    monkeypatch.setattr(machine, "read_machine", lambda *, gpus=True: one)


@pytest.mark.usefixtures("no_vllm", "gpu_machine")
def test_fit_prints_the_arithmetic_and_exits_11_when_it_does_not_fit(tmp_path: Path) -> None:
    model = sparse_model("llama-3.1-70b-instruct", tmp_path)
    result = runner.invoke(app, ["fit", str(model)])
    assert result.exit_code == int(ExitCode.DOES_NOT_FIT) == 11
    assert re.search(r"^weights per GPU +131\.42 GiB  weight files", result.stdout, re.M)
    assert re.search(
        r"^KV cache per token +320\.00 KiB  2 x 80 layers x 8 KV heads x 128 x 2 bytes", result.stdout, re.M
    )
    refusal = "does not fit: weights 131.42 GiB and overhead"
    assert refusal not in result.stdout  # said once, by the error line
    assert result.stderr.count("\n") == 1 and refusal in result.stderr
    assert "use --tp 2 (2 such GPUs; 1 visible) or -q fp8" in result.stderr


@pytest.mark.usefixtures("no_vllm", "gpu_machine")
def test_fit_json_and_max_model_len_auto(tmp_path: Path) -> None:
    model = sparse_model("mixtral-8x7b-instruct-v0.1", tmp_path)
    result = runner.invoke(
        app, ["fit", str(model), "--gpu-memory-utilization", "0.66", "--max-model-len", "auto", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["fits"] is True
    assert document["max_model_len"] == document["longest_context"] < 32768
    assert document["chosen"][0]["field"] == "max_model_len"
    assert {line["item"] for line in document["lines"]} >= {"weights per GPU", "KV cache per token"}


@pytest.mark.usefixtures("no_vllm", "gpu_machine")
def test_serve_refuses_before_launch(tmp_path: Path) -> None:
    model = sparse_model("llama-3.1-70b-instruct", tmp_path)
    result = runner.invoke(app, ["vllm", str(model), "--runtime", "docker", "--port", "18555"])
    assert result.exit_code == ExitCode.DOES_NOT_FIT
    assert result.stderr.startswith("llmserve: error: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.usefixtures("no_vllm", "gpu_machine")
def test_dry_run_with_tp_auto_renders_the_choice(tmp_path: Path) -> None:
    model = sparse_model("qwen2.5-1.5b-instruct", tmp_path)
    result = runner.invoke(app, ["vllm", str(model), "--tp", "auto", "--max-model-len", "auto", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "--tensor-parallel-size 1" in result.stdout
    assert "--max-model-len 32768" in result.stdout
    assert "default max_model_len 32768: the model's full context (--max-model-len auto)" in result.stderr


@pytest.mark.parametrize("engine", ["tgi", "vllm"])
def test_autos_without_a_gpu_to_reckon_against_are_said_and_left_to_the_engine(
    tmp_path: Path, engine: str
) -> None:
    """TGI's CPU image (--gpus none) as vLLM where no GPU is visible: one line each, nothing guessed."""
    model = sparse_model("qwen2.5-1.5b-instruct", tmp_path)
    gpus = ["--gpus", "none"] if engine == "tgi" else ["--runtime", "docker"]  # the recorded EPYC has no GPU
    result = runner.invoke(
        app, [engine, str(model), *gpus, "--max-model-len", "auto", "--tp", "auto", "--dry-run"]
    )
    assert result.exit_code == 0, result.stderr
    why = (
        "llmserve reckons TGI on GPUs only (its CPU image sizes its memory itself)"
        if engine == "tgi"
        else "no GPU is visible to reckon against"
    )
    assert f"default max_model_len unset: {why}: left to the engine (--max-model-len auto)" in result.stderr
    assert "--max-total-tokens" not in result.stdout and "--max-model-len" not in result.stdout


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.parametrize("engine", ["vllm", "tgi"])
def test_fit_without_a_gpu_shows_no_gpu_rows_and_no_negative_budget(tmp_path: Path, engine: str) -> None:
    """The recorded EPYC has no GPU: the table says so instead of reckoning against 0 bytes."""
    model = sparse_model("qwen2.5-1.5b-instruct", tmp_path)
    result = runner.invoke(app, ["fit", str(model), "--engine", engine])
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "no GPU is visible" in result.stderr and "--gpus none" in result.stderr
    assert re.search(r"^GPU memory +none: nvidia-smi and NVML find no GPU$", result.stdout, re.M)
    assert re.search(r"^KV cache budget +none: no GPU to hold it, so no verdict$", result.stdout, re.M)
    assert "usable per GPU" not in result.stdout
    assert not re.search(r"-\d", result.stdout), result.stdout
    document = json.loads(runner.invoke(app, ["fit", str(model), "--engine", engine, "--json"]).stdout)
    assert document["kv_budget_bytes"] == 0
    assert all(line["bytes"] is None or line["bytes"] >= 0 for line in document["lines"])


@pytest.mark.usefixtures("no_vllm")
def test_tp_must_be_a_number_or_auto(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vllm", str(tmp_path), "--tp", "two", "--dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert "'two' is neither a whole number nor auto" in result.stderr


@pytest.mark.usefixtures("no_vllm", "gpu_machine")
def test_doctor_model_shows_the_arithmetic(tmp_path: Path) -> None:
    llama = sparse_model("llama-3.1-70b-instruct", tmp_path)
    result = runner.invoke(app, ["doctor", "--model", str(llama)])
    assert result.exit_code == ExitCode.DOES_NOT_FIT
    assert re.search(r"^fit: +weights per GPU +131\.42 GiB", result.stdout, re.M)
    fix = "use --tp 2 (2 such GPUs; 1 visible) or -q fp8"
    assert fix not in result.stdout and "fit:      fix:" not in result.stdout  # the error line says it
    assert result.stderr.count("\n") == 1 and fix in result.stderr
    qwen = sparse_model("qwen2.5-1.5b-instruct", tmp_path)
    document = json.loads(runner.invoke(app, ["doctor", "--model", str(qwen), "--json"]).stdout)
    assert document["model"]["fit"]["fits"] is True
    assert document["model"]["fit"]["kv_bytes_per_token"] == 2 * 28 * 2 * 128 * 2


def test_latent_attention_keeps_one_latent_vector_per_token_and_layer() -> None:
    """DeepSeek-V2-Lite's attention (kv_lora_rank 512, qk_rope_head_dim 64, 27 layers): vLLM's MLA
    spec stores kv_lora_rank + qk_rope_head_dim values per token and layer, no V, whole on every GPU."""
    config = {"model_type": "deepseek_v2", "num_hidden_layers": 27, "hidden_size": 2048,
              "num_attention_heads": 16, "num_key_value_heads": 16, "kv_lora_rank": 512,
              "qk_rope_head_dim": 64, "vocab_size": 102400, "max_position_embeddings": 163840}  # fmt: skip
    arch = fit.Architecture.from_config(config, "m")
    assert (
        arch.kv_cache_values_per_token(1)
        == arch.kv_cache_values_per_token(4)
        == (27 * 576, "27 layers x latent 576")
    )


def test_tgi_takes_all_of_the_gpu(models: dict[str, ModelFacts]) -> None:
    """TGI's --cuda-memory-fraction is 1 by default (vLLM's --gpu-memory-utilization 0.92), of the
    memory free (nvidia-smi: 143156 of 143771 MiB)."""
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    facts = models["mistral-7b-instruct-v0.3"]
    spec = ServeSpec(engine="tgi", model=facts.model)
    tgi = fit.settle(spec, facts, h200, cpu_engine=False).estimate
    vllm = settle(facts, h200).estimate
    usable = {line.item: line.bytes for line in tgi.lines}["usable per GPU"]
    assert usable == 143156 * 2**20
    assert tgi.fits and tgi.kv_budget_bytes > vllm.kv_budget_bytes
    assert fit.applies(ServeSpec(engine="tgi", model="m", gpus="none"), cpu_engine=True) is False


def test_bfloat16_as_stored_leaves_the_bytes_read_only_where_the_cpu_repacks_them(
    models: dict[str, ModelFacts],
) -> None:
    """vLLM repacks bfloat16 weights for oneDNN on CPUs with bfloat16 instructions; on AVX2 it does not."""
    qwen = models["qwen2.5-1.5b-instruct"]

    def leftovers(host: str) -> int | None:
        estimate = settle(qwen, recorded(host), cpu=True, dtype="bfloat16", vllm={"cpu_kvcache_space": 1})
        return next(line.bytes for line in estimate.estimate.lines if line.item == "loader leftovers")

    assert leftovers("amd-epyc-avx2") == 0
    assert leftovers("xeon-amx-bf16") == qwen.weight_bytes
