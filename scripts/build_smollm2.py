"""Turn the SmolLM2-135M-Instruct GGUF file into a model directory vLLM serves.

    python build_smollm2.py FILE.gguf OUT_DIR

transformers loads GGUF (with the gguf package) but refuses to save a model loaded that way, so
the weights move into a fresh model of the same configuration, which saves normally. Runs in the
vLLM engine's environment (torch, transformers, gguf, accelerate).
"""

from __future__ import annotations

import sys
from pathlib import Path


def build(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    fresh.load_state_dict(loaded.state_dict())
    fresh.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build(Path(sys.argv[1]), Path(sys.argv[2]))
