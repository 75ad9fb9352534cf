from __future__ import annotations

import io

import pytest

from llmserve.engines import TRAITS
from llmserve.logstream import LogForwarder, split_lines
from llmserve.redaction import secret_values_of as secret_values


def test_lines_are_forwarded_in_order_with_a_tail_and_milestones() -> None:
    sink = io.BytesIO()
    forwarder = LogForwarder(TRAITS["tgi"], sink, decorate=False)
    lines = [f"line {i}\n".encode() for i in range(1000)]
    lines[500] = b"INFO text_generation_launcher: Warming up model\n"
    forwarder.follow(iter(lines))
    forwarder.join(5)
    assert sink.getvalue() == b"".join(lines)
    assert forwarder.last_milestone == "warming up"
    assert forwarder.tail(2) == ["line 998", "line 999"]


def test_decorated_lines_carry_the_engine_name() -> None:
    sink = io.BytesIO()
    forwarder = LogForwarder(TRAITS["vllm"], sink, decorate=True)
    forwarder.follow(iter([b"hello"]))
    forwarder.join(5)
    assert sink.getvalue() == b"\x1b[2mvllm | \x1b[0mhello\n"


def test_hint_from_known_failure() -> None:
    forwarder = LogForwarder(TRAITS["vllm"], io.BytesIO(), decorate=False)
    forwarder.follow(iter([b"RuntimeError: Unsupported CPU attention configuration: head_dim=16\n"]))
    forwarder.join(5)
    diagnosis = forwarder.diagnose()
    assert diagnosis is not None
    assert "head size" in diagnosis[0]
    assert diagnosis[1] == "RuntimeError: Unsupported CPU attention configuration: head_dim=16"


def test_split_lines_recuts_chunks() -> None:
    chunks = [b"a\nb", b"c\n", b"", b"d\ne"]
    assert list(split_lines(chunks)) == [b"a\n", b"bc\n", b"d\n", b"e\n"]


def test_secrets_are_masked_in_forwarded_lines_and_the_tail() -> None:
    sink = io.BytesIO()
    forwarder = LogForwarder(TRAITS["tgi"], sink, decorate=False, secrets=["sk-live-123", "ab"])
    forwarder.follow(iter([b"Args { api_key: 'sk-live-123', x: 'ab' }\n"]))
    forwarder.join(5)
    assert sink.getvalue() == b"Args { api_key: '***', x: 'ab' }\n"  # two letters would mask every word
    assert forwarder.tail(1) == ["Args { api_key: '***', x: 'ab' }"]


def test_secret_values_from_an_environment() -> None:
    assert secret_values(["HF_TOKEN=hf_abc", "API_KEY=k3y-long", "PATH=/bin", "MY_KEY=1", "BROKEN"]) == [
        "hf_abc",
        "k3y-long",
    ]


def test_configuration_lines_are_not_failures() -> None:
    config = "with config: model='m', trust_remote_code=True, head_dim=16, dtype=float32"
    assert TRAITS["vllm"].diagnose([config]) is None
    assert TRAITS["tgi"].diagnose(['Args { model_id: "gpt2", trust_remote_code: true }']) is None


@pytest.mark.parametrize(
    ("engine", "log", "advice"),
    [
        (
            "tgi",
            'Args { model_id: "gpt2", trust_remote_code: false }\nDownloadError',
            "could not be downloaded",
        ),
        (
            "tgi",
            "ValueError: ... Please pass the argument `trust_remote_code=True` to allow custom code",
            "--trust-remote-code",
        ),
        ("tgi", "error: unexpected argument '--foo' found", "rejected a flag"),
        (
            "vllm",
            "usage: vllm serve [--trust-remote-code]\nvllm serve: error: unrecognized arguments: --x",
            "rejected a flag",
        ),
        ("vllm", "OSError: [Errno 98] Address already in use", "the port is taken"),
        (
            "vllm",
            "with config: model='m', trust_remote_code=True, dtype=float32\nconsider setting "
            "`trust_remote_code=True` in LLM or using the `--trust-remote-code` flag in the CLI.",
            "--trust-remote-code",
        ),
        (
            "vllm",
            "ValueError: ... is larger than the available KV cache memory ... estimated maximum model length is 912",
            "lower --max-model-len",
        ),
        ("vllm", "huggingface_hub.errors.GatedRepoError: 401 Client Error", "gated or private"),
        (
            "vllm",
            "ValueError: The Transformers implementation of X is not compatible with vLLM",
            "--impl vllm",
        ),
    ],
)
def test_known_failures_get_their_hint(engine: str, log: str, advice: str) -> None:
    diagnosis = TRAITS[engine].diagnose(log.splitlines())
    assert diagnosis is not None
    assert advice in diagnosis[0]
