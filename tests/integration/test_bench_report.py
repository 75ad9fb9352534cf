"""The bench HTML report in a real headless browser (Debian's chromium): its charts render, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve.cli import app
from tests.fixtures.scripted_server import Script, serving

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run")  # fmt: skip
PLOT_BLUE = (0x1F, 0x77, 0xB4)  # the first plot colour


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is missing; ./scripts/test.sh installs it (scripts/lib.sh)")
    return found


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(Script(ttft_s=0.02, chunk_delay_s=0.005, tokens_per_chunk=2)) as base:
        yield base


def browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def blue_pixels(png: Path) -> int:
    import matplotlib.image

    pixels = matplotlib.image.imread(png)[:, :, :3] * 255
    near = (abs(pixels - PLOT_BLUE) < 24).all(axis=2)
    return int(near.sum())


@pytest.mark.parametrize("sweep", [False, True])
def test_report_charts_render_in_a_headless_browser(
    chromium: str, url: str, tmp_path: Path, sweep: bool
) -> None:
    out = tmp_path / "report"
    args = ["bench", url, "--requests", "12", "--concurrency", "3", "--input-tokens", "8", "--output-tokens", "8",
            "--output", str(out)]  # fmt: skip
    if sweep:
        args += ["--sweep", "concurrency=1,2,4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = out / "report.html"
    text = report.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the report must not fetch anything"

    dom = browse(chromium, tmp_path / "profile", "--dump-dom", report.as_uri()).stdout
    widths = re.findall(r'data-rendered-width="(\d+)"', dom)
    assert len(widths) == (1 if sweep else 2), dom[:2000]
    assert all(int(width) >= 800 for width in widths)  # every image decoded at its full size

    shot = tmp_path / "shot.png"
    browse(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1100,1400", report.as_uri())
    assert blue_pixels(shot) > 500  # the plotted lines, not a blank page or a broken-image icon
