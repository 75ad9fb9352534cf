"""What each vLLM version accepts for the values llmserve owns, read from that version's own source.

Generated with `llmserve.engines.vllm_source.read_values` from each release's files
(`vllm/model_executor/layers/quantization/__init__.py`, `ModelImpl` in `vllm/config`). llmserve reads
the installed vLLM itself; these tables are for versions it cannot read: `--vllm-version` renders and
Docker images. A version between two rows takes the row below it.
"""

from __future__ import annotations

# version: (quantization methods, those needing --allow-deprecated-quantization, model implementations)
VLLM_VALUES: dict[str, tuple[str, str, str]] = {
    "0.7.0": (
        "aqlm awq deepspeedfp tpu_int8 fp8 fbgemm_fp8 modelopt marlin gguf "
        "gptq_marlin_24 gptq_marlin awq_marlin gptq compressed-tensors bitsandbytes "
        "qqq hqq experts_int8 neuron_quant ipex quark",
        "",
        "",
    ),
    "0.7.1": (
        "aqlm awq deepspeedfp tpu_int8 fp8 fbgemm_fp8 modelopt marlin gguf "
        "gptq_marlin_24 gptq_marlin awq_marlin gptq compressed-tensors bitsandbytes "
        "qqq hqq experts_int8 neuron_quant ipex quark moe_wna16",
        "",
        "",
    ),
    "0.7.2": (
        "aqlm awq deepspeedfp tpu_int8 fp8 fbgemm_fp8 modelopt marlin gguf "
        "gptq_marlin_24 gptq_marlin awq_marlin gptq compressed-tensors bitsandbytes "
        "qqq hqq experts_int8 neuron_quant ipex quark moe_wna16",
        "",
        "auto vllm transformers",
    ),
    "0.7.3": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt marlin gguf "
        "gptq_marlin_24 gptq_marlin awq_marlin gptq compressed-tensors bitsandbytes "
        "qqq hqq experts_int8 neuron_quant ipex quark moe_wna16",
        "",
        "auto vllm transformers",
    ),
    "0.8.0": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt nvfp4 "
        "marlin gguf gptq_marlin_24 gptq_marlin awq_marlin gptq compressed-tensors "
        "bitsandbytes qqq hqq experts_int8 neuron_quant ipex quark moe_wna16",
        "",
        "auto vllm transformers",
    ),
    "0.8.5": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt nvfp4 "
        "marlin bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin "
        "gptq compressed-tensors bitsandbytes qqq hqq experts_int8 neuron_quant "
        "ipex quark moe_wna16 torchao",
        "",
        "auto vllm transformers",
    ),
    "0.9.0": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt "
        "modelopt_fp4 marlin bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes qqq hqq experts_int8 "
        "neuron_quant ipex quark moe_wna16 torchao auto-round",
        "",
        "auto vllm transformers",
    ),
    "0.9.2": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt "
        "modelopt_fp4 marlin bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes qqq hqq experts_int8 "
        "neuron_quant ipex quark moe_wna16 torchao auto-round rtn",
        "",
        "auto vllm transformers",
    ),
    "0.10.0": (
        "aqlm awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt "
        "modelopt_fp4 marlin bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes qqq hqq experts_int8 "
        "neuron_quant ipex quark moe_wna16 torchao auto-round rtn inc",
        "",
        "auto vllm transformers",
    ),
    "0.10.1": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt modelopt_fp4 "
        "marlin bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin "
        "gptq compressed-tensors bitsandbytes qqq hqq experts_int8 neuron_quant "
        "ipex quark moe_wna16 torchao auto-round rtn inc mxfp4",
        "",
        "auto vllm transformers",
    ),
    "0.10.2": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt modelopt_fp4 "
        "bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin gptq "
        "compressed-tensors bitsandbytes hqq experts_int8 ipex quark moe_wna16 "
        "torchao auto-round rtn inc mxfp4 petit_nvfp4",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.11.0": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 modelopt modelopt_fp4 "
        "bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin gptq "
        "compressed-tensors bitsandbytes hqq experts_int8 ipex quark moe_wna16 "
        "torchao auto-round rtn inc mxfp4 petit_nvfp4",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.11.1": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt "
        "modelopt_fp4 bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes hqq experts_int8 ipex "
        "quark moe_wna16 torchao auto-round rtn inc mxfp4 petit_nvfp4",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.11.2": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt "
        "modelopt_fp4 bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes hqq experts_int8 ipex "
        "quark moe_wna16 torchao auto-round rtn inc mxfp4 petit_nvfp4",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.12.0": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt "
        "modelopt_fp4 bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes hqq experts_int8 ipex "
        "quark moe_wna16 torchao auto-round rtn inc mxfp4 petit_nvfp4 cpu_gptq "
        "cpu_awq",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.13.0": (
        "awq deepspeedfp tpu_int8 fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt "
        "modelopt_fp4 bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas "
        "awq_marlin gptq compressed-tensors bitsandbytes hqq experts_int8 ipex "
        "quark moe_wna16 torchao auto-round rtn inc mxfp4 petit_nvfp4 cpu_gptq "
        "cpu_awq",
        "",
        "auto vllm transformers terratorch",
    ),
    "0.14.0": (
        "awq deepspeedfp fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 "
        "bitblas gguf gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin gptq "
        "compressed-tensors bitsandbytes hqq experts_int8 ipex quark moe_wna16 "
        "torchao auto-round rtn inc mxfp4 petit_nvfp4 cpu_awq",
        "deepspeedfp tpu_int8 ptpc_fp8 fbgemm_fp8 fp_quant bitblas gptq_marlin_24 "
        "gptq_bitblas hqq experts_int8 ipex auto-round rtn petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.15.0": (
        "awq fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 bitblas gguf "
        "gptq_marlin_24 gptq_marlin gptq_bitblas awq_marlin gptq compressed-tensors "
        "bitsandbytes experts_int8 ipex quark moe_wna16 torchao inc mxfp4 "
        "petit_nvfp4 cpu_awq",
        "tpu_int8 ptpc_fp8 fbgemm_fp8 fp_quant bitblas gptq_marlin_24 gptq_bitblas "
        "experts_int8 ipex petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.16.0": (
        "awq fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "gguf gptq_marlin awq_marlin gptq compressed-tensors bitsandbytes "
        "experts_int8 quark moe_wna16 torchao inc mxfp4 petit_nvfp4 cpu_awq",
        "tpu_int8 ptpc_fp8 fbgemm_fp8 fp_quant experts_int8 petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.17.0": (
        "awq fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf gptq_marlin awq_marlin gptq compressed-tensors "
        "bitsandbytes experts_int8 quark moe_wna16 torchao inc mxfp4 petit_nvfp4 "
        "cpu_awq",
        "tpu_int8 ptpc_fp8 fbgemm_fp8 fp_quant experts_int8 petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.18.0": (
        "awq fp8 ptpc_fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf gptq_marlin awq_marlin gptq compressed-tensors "
        "bitsandbytes experts_int8 quark moe_wna16 torchao inc mxfp4 petit_nvfp4 "
        "cpu_awq",
        "tpu_int8 ptpc_fp8 fbgemm_fp8 fp_quant experts_int8 petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.19.0": (
        "awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf gptq_marlin awq_marlin gptq compressed-tensors "
        "bitsandbytes experts_int8 quark moe_wna16 torchao inc mxfp4 mxfp8 "
        "petit_nvfp4 cpu_awq",
        "tpu_int8 fbgemm_fp8 fp_quant experts_int8 petit_nvfp4",
        "auto vllm transformers terratorch",
    ),
    "0.20.0": (
        "awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf gptq_marlin awq_marlin gptq humming compressed-tensors "
        "bitsandbytes experts_int8 quark moe_wna16 torchao inc mxfp4 gpt_oss_mxfp4 "
        "deepseek_v4_fp8 cpu_awq online fp8_per_tensor fp8_per_block "
        "int8_per_channel_weight_only mxfp8",
        "tpu_int8 fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.22.0": (
        "awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 cpu_awq online fp8_per_tensor "
        "fp8_per_block int8_per_channel_weight_only mxfp8",
        "tpu_int8 fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.23.0": (
        "awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed gguf auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "int8_per_channel_weight_only mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.24.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.25.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.26.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.27.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors bitsandbytes experts_int8 quark moe_wna16 torchao inc "
        "mxfp4 gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.28.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.29.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.30.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.31.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.32.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
    "0.33.0": (
        "awq auto_awq fp8 fbgemm_fp8 fp_quant modelopt modelopt_fp4 modelopt_mxfp8 "
        "modelopt_mixed auto_gptq gptq gptq_marlin awq_marlin humming "
        "compressed-tensors experts_int8 quark moe_wna16 torchao inc mxfp4 "
        "gpt_oss_mxfp4 deepseek_v4_fp8 online fp8_per_tensor fp8_per_block "
        "fp8_per_channel int8_per_channel_weight_only nvfp4_per_token mxfp8",
        "fbgemm_fp8 fp_quant",
        "auto vllm transformers terratorch",
    ),
}
