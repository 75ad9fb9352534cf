"""llmserve: serve a Transformers model with TGI or vLLM from one validated spec."""

from __future__ import annotations

__version__ = "0.1.0"
