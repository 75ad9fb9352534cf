"""Distinct secrets planted in every input channel never come out of any output channel.

Inputs: the environment, secret files, spec literals and env:/file: references, `-e`, engine
arguments after `--` and in `engine_args`, convert's input lines, a server's answers.
Outputs: stdout and stderr of every command (plain, --json, --dry-run, --explain), convert's -o
file, and every file llmserve writes under a private HOME and XDG directories.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve import lifecycle
from llmserve.cli import app
from tests.fixtures.hostile_http import answer, echo_authorization, hostile_server

runner = CliRunner()

# One distinct secret per input channel; the marker keeps ordinary output from matching by chance.
SECRETS = {
    "env_hf": "LeakEnvHfToken0001",
    "env_api": "LeakEnvApiKey00002",
    "env_ambient": "LeakAmbientOpenAi3",
    "env_ref": "LeakEnvReference04",
    "file_api": "LeakFileApiKey0005",
    "file_hf": "LeakFileHfToken006",
    "file_ref": "LeakFileReference7",
    "spec_api": "LeakSpecApiKey0008",
    "spec_hf": "LeakSpecHfToken009",
    "spec_env": "LeakSpecEnvSecret10",
    "spec_lower": "LeakSpecLowerKey11",
    "spec_args": "LeakSpecEngineArg12",
    "cli_e": "LeakCliEnvPasswd13",
    "cli_lower": "LeakCliLowerApiKey14",
    "cli_typo": "LeakCliTypoToken15",
    "dash_api": "LeakDashApiKey0016",
    "dash_eq": "LeakDashApiKeyEq17",
    "dash_ngrok": "LeakDashNgrokAuth18",
    "conv_e": "LeakConvertEnv0019",
    "conv_hf": "LeakConvertHfTok20",
    "conv_api": "LeakConvertApiKey21",
    "conv_unknown": "LeakConvertSecret22",
    "conv_lead": "LeakConvertLeading23",
    "conv_eq": "LeakConvertEquals24",
    "log_bearer": "LeakLogBearer00025",
    "log_flag": "LeakLogApiFlag0026",
    "log_env": "LeakLogEnvValue027",
}
S = SECRETS
TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.7"
VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"


@pytest.fixture
def world(tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch, no_vllm: None) -> Path:
    """A private HOME and XDG directories, secrets in the environment, secret files and spec files."""
    for name in ("XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("HF_TOKEN", S["env_hf"])
    monkeypatch.setenv("LLMSERVE_API_KEY", S["env_api"])
    monkeypatch.setenv("OPENAI_API_KEY", S["env_ambient"])
    monkeypatch.setenv("REF_KEY", S["env_ref"])
    monkeypatch.setattr(lifecycle, "_docker_client", lambda: None)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "api-key").write_text(S["file_api"] + "\n")
    (inputs / "hf-token").write_text(S["file_hf"])
    (inputs / "ref-token").write_text(S["file_ref"])
    (inputs / "literal.yaml").write_text(
        textwrap.dedent(f"""\
        engine: vllm
        model: org/model
        api_key: {S["spec_api"]}
        hf_token: {S["spec_hf"]}
        env:
          MY_SECRET: {S["spec_env"]}
          my_api_key: {S["spec_lower"]}
          PLAIN: visible
        engine_args: [--api-key, {S["spec_args"]}, --seed, "3"]
        """)
    )
    (inputs / "references.yaml").write_text(
        "engine: tgi\nmodel: gpt2\napi_key: env:REF_KEY\nhf_token: file:ref-token\n"
        "env:\n  DB_PASSWORD: env:REF_KEY\n"
    )
    (inputs / "references.toml").write_text(
        'engine = "vllm"\nmodel = "org/model"\napi_key = "file:ref-token"\nengine_args = ["--api-key='
        + S["spec_args"]
        + '"]\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def _serve_variants(head: list[str]) -> list[list[str]]:
    """The command with each way of printing it, put before any `--`."""
    cut = head.index("--") if "--" in head else len(head)
    forms = (["--dry-run"], ["--json"], ["--explain"], ["--explain", "--json"])
    return [[*head[:cut], *form, *head[cut:]] for form in forms]


FILES = "{inputs}"
SERVE_HEADS: list[list[str]] = [
    ["tgi", "gpt2", "--api-key-file", f"{FILES}/api-key", "--hf-token-file", f"{FILES}/hf-token"],
    ["vllm", "org/model", "--vllm-version", "0.13.0", "-e", f"DB_PASSWORD={S['cli_e']}",
     "-e", f"my_api_key={S['cli_lower']}"],
    ["vllm", "org/model", "--runtime", "docker", "-e", f"DB_PASSWORD={S['cli_e']}"],
    ["vllm", "org/model", "--vllm-version", "0.13.0", "--", "--api-key", S["dash_api"]],
    ["vllm", "org/model", "--vllm-version", "0.13.0", "--", f"--api-key={S['dash_eq']}"],
    ["tgi", "gpt2", "--", "--ngrok-authtoken", S["dash_ngrok"]],
    ["run", f"{FILES}/literal.yaml"],
    ["run", f"{FILES}/literal.yaml", "--engine", "tgi", "--lenient"],
    ["run", f"{FILES}/references.yaml"],
    ["run", f"{FILES}/references.yaml", "--engine", "vllm", "--lenient"],
    ["run", f"{FILES}/references.toml"],
]  # fmt: skip
CONVERT_LINES: list[list[str]] = [
    ["docker", "run", "--gpus", "all", "-e", f"OPENAI_API_KEY={S['conv_e']}", "-e", f"HF_TOKEN={S['conv_hf']}",
     "-p", "8080:80", TGI_IMAGE, "--model-id", "gpt2", "--api-key", S["conv_api"]],
    ["docker", "run", "-e", f"DB_PASSWORD={S['conv_e']}", VLLM_IMAGE, "--model", "m", "--hf-token",
     S["conv_hf"], f"--api-key={S['conv_eq']}", "--my-secret", S["conv_unknown"]],
    [f"HF_TOKEN={S['conv_lead']}", f"API_KEY={S['conv_api']}", "text-generation-launcher", "--model-id", "gpt2",
     "--ngrok-authtoken", S["conv_unknown"]],
    ["vllm", "serve", "m", "--api-key", S["conv_api"], f"--hf-token={S['conv_eq']}", "--foo-password",
     S["conv_unknown"]],
    [f"env my_api_key={S['conv_lead']} vllm serve m --api-key {S['conv_api']}"],
    ["docker", "run", "-e", f"HF_TOKEN:{S['conv_e']}", VLLM_IMAGE, "--model", "m"],
]  # fmt: skip

COMMANDS: list[list[str]] = [variant for head in SERVE_HEADS for variant in _serve_variants(head)]
COMMANDS += [["explain", f"{FILES}/literal.yaml"], ["explain", f"{FILES}/references.yaml", "--json"]]
COMMANDS += [["convert", "--", *line] for line in CONVERT_LINES]
COMMANDS += [["convert", "--to", "tgi", "-o", "out.yaml", "--", *line] for line in CONVERT_LINES]
COMMANDS += [
    ["tgi", "gpt2", "-e", f"HF_TOKEN:{S['cli_typo']}", "--dry-run"],
    ["tgi", "gpt2", "-e", f"BAD NAME={S['cli_typo']}", "--dry-run"],
    ["tgi", "gpt2", "--port", "0", "--api-key-file", f"{FILES}/api-key", "--dry-run"],
    ["schema"],
    ["ps"],
    ["ps", "--json"],
    ["doctor", "--json"],
    ["stop", "--all"],
]


def _everything_written(root: Path, inputs: set[Path]) -> str:
    texts = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path not in inputs:
            texts.append(f"--- {path}\n" + path.read_bytes().decode(errors="replace"))
    return "\n".join(texts)


def _run(world: Path, argv: list[str]) -> str:
    argv = [word.replace(FILES, str(world / "inputs")) for word in argv]
    inputs = {p for p in (world / "inputs").rglob("*")}
    result = runner.invoke(app, argv)
    if os.environ.get("LEAK_PROBE"):
        print("PROBE", result.exit_code, argv[:3], result.stderr[-300:].replace("\n", " | "))
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return "\n".join([result.stdout, result.stderr, _everything_written(world, inputs)])


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c)[:70] for c in COMMANDS])
def test_no_planted_secret_comes_out(world: Path, argv: list[str]) -> None:
    output = _run(world, argv)
    leaked = [channel for channel, secret in SECRETS.items() if secret in output]
    assert leaked == [], output


def test_logs_of_a_detached_server_are_masked(world: Path) -> None:
    servers = world / "xdg_state_home" / "llmserve" / "servers"
    os.environ.pop("LLMSERVE_STATE_DIR", None)
    servers.mkdir(parents=True)
    record = {
        "name": "llmserve-vllm-m-8000", "engine": "vllm", "model": "m", "served_model_name": "m",
        "endpoint": "http://127.0.0.1:8000", "pid": 999_999, "started": 1.0, "command": "vllm serve m",
    }  # fmt: skip
    (servers / "llmserve-vllm-m-8000.json").write_text(json.dumps(record))
    (servers / "llmserve-vllm-m-8000.log").write_text(
        f"INFO request with Authorization: Bearer {S['log_bearer']}\n"
        f"non-default args: {{'api_key': '{S['log_flag']}'}} argv --api-key {S['log_flag']}\n"
        f"env VLLM_API_KEY={S['log_env']} HF_TOKEN={S['env_hf']}\n"
    )
    result = runner.invoke(app, ["logs", "llmserve-vllm-m-8000"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("***") == 5
    assert not [secret for secret in SECRETS.values() if secret in result.stdout]


def test_the_guardian_writes_a_masked_log(world: Path) -> None:
    """A detached engine's output reaches its log file only through the guardian's mask."""
    log = world / "engine.log"
    engine = "import os, sys; print('token', os.environ['VLLM_API_KEY']); print('argv', sys.argv[1:])"
    env = {**os.environ, "VLLM_API_KEY": S["log_env"]}
    subprocess.run(
        [sys.executable, "-m", "llmserve.runtimes.guardian", "--log", str(log), "--",
         sys.executable, "-c", engine, "--api-key", S["log_flag"]],
        env=env, check=True, timeout=60,
    )  # fmt: skip
    written = log.read_text()
    assert "token ***" in written
    assert S["log_env"] not in written
    assert S["log_flag"] not in written


def test_a_server_echoing_the_token_does_not_leak_it(world: Path) -> None:
    routes = {
        "/health": answer(200),
        "/v1/models": answer(200, {"data": [{"id": f"m-{S['env_api']}"}]}),
        "/v1/completions": echo_authorization(500),
    }
    for extra in ([], ["--json"], ["--api-key-file", str(world / "inputs" / "api-key")]):
        with hostile_server(routes) as server:
            output = _run(world, ["smoke", server.url, "--timeout", "5", *extra])
        assert S["env_api"] not in output
        assert S["file_api"] not in output


secret_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/", min_size=4,
                      max_size=30).map(lambda text: f"Zq9{text}")  # fmt: skip
secret_names = st.sampled_from(
    ["HF_TOKEN", "MY_SECRET", "db_password", "my_api_key", "AWS_SECRET_ACCESS_KEY", "PGPASSWD", "GH_AUTH",
     "Azure_Credential", "ngrok_authtoken", "X_KEY"]
)  # fmt: skip
channels = st.sampled_from(["-e", "--", "engine_args", "spec_env", "convert_e", "convert_flag"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    secret=secret_text,
    name=secret_names,
    channel=channels,
    form=st.sampled_from(["--dry-run", "--json", "--explain"]),
)
def test_any_secret_in_any_channel_is_masked(
    world: Path, secret: str, name: str, channel: str, form: str
) -> None:
    flag = "--" + name.lower().replace("_", "-")
    argv: list[str]
    if channel == "-e":
        argv = ["vllm", "org/model", "--vllm-version", "0.13.0", "-e", f"{name}={secret}", form]
    elif channel == "--":
        argv = ["vllm", "org/model", "--vllm-version", "0.13.0", form, "--", flag, secret]
    elif channel in ("engine_args", "spec_env"):
        spec: dict[str, Any] = {"engine": "vllm", "model": "org/model"}
        if channel == "engine_args":
            spec["engine_args"] = [f"{flag}={secret}"]
        else:
            spec["env"] = {name: secret}
        path = world / "inputs" / "fuzz.json.yaml"
        path.write_text(json.dumps(spec))
        argv = ["run", str(path), form]
    elif channel == "convert_e":
        argv = ["convert", "--", "docker", "run", "-e", f"{name}={secret}", VLLM_IMAGE, "--model", "m"]
    else:
        argv = ["convert", "--", "vllm", "serve", "m", flag, secret]
    assert secret not in _run(world, argv)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


SECRET_FILE_KINDS: dict[str, Callable[[Path], object]] = {
    "/dev/zero": lambda path: None,
    "a directory": lambda path: path.mkdir(),
    "a fifo": _fifo,
    "not UTF-8": lambda path: path.write_bytes(b"\xff\xfe" + S["file_api"].encode()),
    "too large": lambda path: path.write_text(S["file_api"] * 10_000),
    "empty": lambda path: path.write_text("  \n"),
    "missing": lambda path: None,
}


@pytest.mark.parametrize("kind", SECRET_FILE_KINDS, ids=SECRET_FILE_KINDS.keys())
@pytest.mark.parametrize("command", [["tgi", "gpt2", "--dry-run"], ["smoke", "http://127.0.0.1:1"]])
def test_a_bad_secret_file_is_one_line_without_its_content(
    world: Path, kind: str, command: list[str]
) -> None:
    path = Path("/dev/zero") if kind == "/dev/zero" else world / "inputs" / "bad-secret"
    SECRET_FILE_KINDS[kind](path)
    result = runner.invoke(app, [*command, "--api-key-file", str(path)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr
    assert S["file_api"] not in result.stderr
