"""The one secret policy: which names are secret, and how arguments, environments and text are masked."""

from __future__ import annotations

import pytest

from llmserve import redaction
from llmserve.redaction import MASK, is_secret_name, mask_args, mask_env, one_line, redact


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("HF_TOKEN", True), ("hf_token", True), ("my_api_key", True), ("DB_PASSWORD", True),
        ("PGPASSWD", True), ("AWS_SECRET_ACCESS_KEY", True), ("Azure_Credentials", True),
        ("GH_AUTH", True), ("ngrok-authtoken", True), ("api-key", True),
        ("MAX_TOTAL_TOKENS", False), ("max_batch_total_tokens", False), ("tokenizer", False),
        ("PATH", False), ("VLLM_CPU_KVCACHE_SPACE", False), ("CUDA_VISIBLE_DEVICES", False),
    ],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_mask_args_hides_secret_flag_values_in_every_form() -> None:
    argv = [
        "vllm", "serve", "m", "--api-key", "s1-value", "--api-key=s2-value", "--ngrok-authtoken", "s3-value",
        "--hf-token", "s4-value", "--my-secret=s5-value", "-e", "DB_PASSWORD=s6-value", "my_api_key=s7-value",
        "--max-total-tokens", "4096", "--tokenizer", "gpt2", "--seed", "3",
    ]  # fmt: skip
    assert mask_args(argv) == [
        "vllm", "serve", "m", "--api-key", MASK, f"--api-key={MASK}", "--ngrok-authtoken", MASK,
        "--hf-token", MASK, f"--my-secret={MASK}", "-e", f"DB_PASSWORD={MASK}", f"my_api_key={MASK}",
        "--max-total-tokens", "4096", "--tokenizer", "gpt2", "--seed", "3",
    ]  # fmt: skip
    assert redaction.secret_values_in_args(argv) == [f"s{i}-value" for i in range(1, 8)]


def test_a_secret_flag_followed_by_a_flag_hides_nothing() -> None:
    assert mask_args(["--api-key", "--seed", "3"]) == ["--api-key", "--seed", "3"]


def test_mask_env_by_name_and_by_list() -> None:
    env = {"HF_TOKEN": "t", "my_password": "p", "PLAIN": "v", "CUSTOM": "c", "EMPTY_KEY": ""}
    assert mask_env(env, {"CUSTOM"}) == {
        "HF_TOKEN": MASK, "my_password": MASK, "PLAIN": "v", "CUSTOM": MASK, "EMPTY_KEY": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ("--api-key sk-1234 --port 8000", "--api-key *** --port 8000"),
        ("--hf-token='a b c'", "--hf-token='***'"),
        ("env DB_PASSWORD=hunter22 PLAIN=x", "env DB_PASSWORD=*** PLAIN=x"),
        ('Args { api_key: Some("sk-9"), port: 80 }', 'Args { api_key: Some("***"), port: 80 }'),
        ('{"api_key": "sk-9", "model": "m"}', '{"api_key": "***", "model": "m"}'),
        ("max_total_tokens=4096 tokenizer=gpt2", "max_total_tokens=4096 tokenizer=gpt2"),
        ("api_key: env:LLMSERVE_API_KEY", "api_key: env:LLMSERVE_API_KEY"),
        ('-H "Authorization: Bearer $LLMSERVE_API_KEY"', '-H "Authorization: Bearer $LLMSERVE_API_KEY"'),
        ("write it as NAME=VALUE", "write it as NAME=VALUE"),
        ("engine argument --api-key carries a secret", "engine argument --api-key carries a secret"),
        ("--ssl-keyfile /k.pem --api-key-file /run/key", "--ssl-keyfile /k.pem --api-key-file /run/key"),
    ],
)
def test_redact_free_text(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_remembered_values_are_masked_anywhere_and_short_ones_are_not() -> None:
    redaction.remember("hf_abcdef", "ab", None)
    assert redact("model hf_abcdefX at /hf_abcdef/") == "model ***X at /***/"
    assert redact("ab abc") == "ab abc"


def test_ambient_secret_values_are_masked_when_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "ambient-value-123")
    monkeypatch.setenv("FEATURE_KEY", "true")
    redaction.reset()
    assert redact("got ambient-value-123 and true") == "got *** and true"


def test_one_line_cleans_masks_and_cuts() -> None:
    text = "\x1b[31merror\x1b[0m\nBearer sk-live-0123456789\r\n\x00" + "x" * 500
    line = one_line(text, 60)
    assert line.startswith("error Bearer *** x")
    assert len(line) == 60 and line.endswith("…")
    assert "\n" not in line and "\x1b" not in line


def test_masked_word_keeps_only_the_name() -> None:
    assert redaction.masked_word("HF_TOKEN:hf_secret") == "HF_TOKEN…"
    assert redaction.masked_word("NOVALUE") == "NOVALUE"
    assert redaction.masked_word(":x") == "…"


def test_flags_that_name_a_place_are_not_secret() -> None:
    argv = ["--ssl-keyfile", "/k.pem", "--api-key-file", "/run/key", "--hf-token", "hf_x1"]
    assert mask_args(argv) == ["--ssl-keyfile", "/k.pem", "--api-key-file", "/run/key", "--hf-token", MASK]
