"""Log forwarding under load, run as its own process so that its peak RSS is llmserve's alone.

    python benchmarks/forward_logs.py LINES SINK_FILE

Starts an "engine" that prints LINES numbered lines as fast as it can through llmserve's process
runtime (guardian, pipes, forwarding threads) into SINK_FILE, then prints one JSON line of figures.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from llmserve.engines import TRAITS
from llmserve.logstream import LogForwarder
from llmserve.plan import LaunchPlan, ProcessLaunch
from llmserve.runtimes import process

ENGINE = (
    "import sys\n"
    "out = sys.stdout\n"
    "for i in range(int(sys.argv[1])):\n"
    "    out.write(f'INFO engine line {i} with some typical log text after the number\\n')\n"
)


def main() -> None:
    lines, sink_path = int(sys.argv[1]), Path(sys.argv[2])
    plan = LaunchPlan(
        name="bench",
        engine="vllm",
        model="bench",
        served_model_name="bench",
        host="127.0.0.1",
        port=1,
        launch=ProcessLaunch(argv=(sys.executable, "-c", ENGINE, str(lines))),
    )
    with sink_path.open("wb") as sink:
        forwarder = LogForwarder(TRAITS["vllm"], sink, decorate=False)
        started = time.perf_counter()
        server = process.start(plan, forwarder)
        server.wait(None)
        forwarder.join(timeout=600)
        elapsed = time.perf_counter() - started
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lines": lines, "seconds": elapsed, "peak_rss_mib": peak_rss_mib}))


if __name__ == "__main__":
    main()
