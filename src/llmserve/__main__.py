from __future__ import annotations

from llmserve.cli import main

main()
