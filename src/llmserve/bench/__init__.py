"""`llmserve bench`: load generation, metrics (pure), and reports (JSON, CSV, plots, HTML)."""
