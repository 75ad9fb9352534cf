"""Bad input on every command: each bad value of each option and spec field, each malformed file.

Every case must end with its documented exit code, exactly one clean line on stderr (`llmserve:
error: …`, naming the value where there is one), nothing on stdout, no traceback, and nothing
written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import ExitCode

runner = CliRunner()
USAGE = ExitCode.USAGE
LONG = "x" * 300
PLANTED = "sk-planted-secret-7"  # never to be shown


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    files: Mapping[str, str | bytes] = field(default_factory=dict)  # name -> content, "<dir>", "<fifo>"
    code: int = USAGE
    shows: str = ""  # a piece of the message: the value, or the fix

    @property
    def id(self) -> str:
        return " ".join(self.args)[:120]


def _serve(engine: str, *args: str, shows: str = "") -> Case:
    return Case((engine, "gpt2", *args, "--dry-run"), shows=shows)


# Bad values of the serve commands' options (both engines), with a piece of what the message says.
SHARED_OPTION_VALUES: dict[str, list[str]] = {
    "--port": ["abc", "0", "70000", "-1", "1.5", "", "true", "1e3"],
    "--host": ["example.com", "", "0.0.0.0\n", "1.2.3.4.5", "::g", " 127.0.0.1", "localhost "],
    "--gpus": ["first", "0,0", "", "0,,1", "0,1\n", "-1", "all,0", "0, 1"],
    "--tp": ["0", "-2", "x", ""],
    "--dtype": ["fp9", "", "FLOAT16", "float16\n"],
    "-q": ["int3", "", "awq\n", "AWQ"],
    "--max-model-len": ["0", "-5", "x", "4096.5"],
    "--revision": ["-main", "", "a b", "main\n", "--trust-remote-code"],
    "--image": [
        ":",
        "tgi:3.3.7 --privileged",
        "ghcr.io/x/tgi:latest",
        "tgi",
        "x/UPPER:1",
        "x:1\n",
        "x@sha256:abc",
        "x:",
        "/x:1",
        "x::1",
        LONG + ":1",
    ],
    "--pull": ["sometimes", "", "Always"],
    "--shm-size": ["lots", "1gb", "", "1g\n", "-1g"],
    "--volume": ["/a:/b", "", "~nouser/x", "/a\n", "/a:/b:ro"],
    "-e": ["NOVALUE", "1X=2", "=x", "A B=1", "HF_TOKEN:S", "A\nB=1", "A=x\x00y"],
    "--lora": ["name=", "=path", "-x", "a b", "", "a=b c"],
    "--ready-timeout": ["soon"],
}
TGI_OPTION_VALUES: dict[str, list[str]] = {
    "--max-input-tokens": ["0", "x"],
    "--max-batch-prefill-tokens": ["0", "-1"],
    "--max-batch-total-tokens": ["0", "y"],
    "--max-concurrent-requests": ["0", "1.5"],
    "-q": ["awq_marlin", "gguf"],
}
VLLM_OPTION_VALUES: dict[str, list[str]] = {
    "--impl": ["onnx", ""],
    "--runtime": ["k8s", ""],
    "--vllm-version": ["0.13.0garbage", "latest", "0.13.0\n", "", "1", "0.13.0 --x"],
    "--gpu-memory-utilization": ["0", "1.5", "x", "nan", "-0.5", "inf"],
    "--cpu-kvcache-space": ["0", "x"],
    "--served-model-name": ["-x", " a", "a ", "", "a\nb"],
    "--vllm-python": ["", "a\nb"],
    "-q": ["eetq", "exl2"],
}
BAD_MODELS = [
    "",
    LONG,
    "~nouser/x",
    "../nonexistent",
    "a/b/c",
    "org/--x",
    "gpt2\n",
    "-",
    "a..b",
    "/nonexistent",
]
MANAGED_FLAGS = {
    "tgi": [
        ["--port", "9999"],
        ["--hostname", "0.0.0.0"],
        ["--hostname=0.0.0.0"],
        ["-p", "1"],
        ["-p1"],
        ["--model-id", "x"],
        ["--model-id=x"],
        ["--api-key", PLANTED],
        [f"--api-key={PLANTED}"],
        ["--hf-token", PLANTED],
    ],
    "vllm": [
        ["--host", "0.0.0.0"],
        ["--host=0.0.0.0"],
        ["--port", "9999"],
        ["--port=9999"],
        ["--model", "x"],
        ["--api-key", PLANTED],
        ["--api_key", PLANTED],
        ["--hf-token", PLANTED],
        [f"--hf_token={PLANTED}"],
        ["--hos", "0.0.0.0"],
        # vLLM's argparse expands any unambiguous prefix: --ho is --host.
        ["--ho", "0.0.0.0"],
        ["--ho=0.0.0.0"],
    ],
}


def _option_cases() -> Iterator[Case]:
    for engine, own in (("tgi", TGI_OPTION_VALUES), ("vllm", VLLM_OPTION_VALUES)):
        for option, values in (*SHARED_OPTION_VALUES.items(), *own.items()):
            for value in values:
                yield _serve(engine, option, value)
        for model in BAD_MODELS:
            yield Case((engine, model, "--dry-run"))
        for flags in MANAGED_FLAGS[engine]:
            yield Case((engine, "gpt2", "--dry-run", "--", *flags), shows="; use ")
        for option in ("--api-key-file", "--hf-token-file"):
            for name in ("missing", "<dir>", "empty", "latin1", "lines", "~nouser/k", "fifo", "huge", LONG):
                yield Case(
                    (engine, "gpt2", option, name, "--dry-run"),
                    files={
                        "<dir>": "<dir>",
                        "empty": "",
                        "latin1": b"\xffkey",
                        "lines": "a\nb\n",
                        "fifo": "<fifo>",
                        "huge": "k" * 100_000,
                    },
                )
    yield _serve("vllm", "--runtime", "docker", "--shm-size", "x")
    yield _serve("tgi", "--gpus", "0,1", "--tp", "4", shows="more than the 2 GPU")
    yield _serve("tgi", "--gpus", "none", "--tp", "2")
    yield _serve("tgi", "-q", "exl2", "--tp", "2")
    yield _serve("tgi", "--dtype", "float16", "-q", "awq")
    yield _serve("tgi", "--dtype", "float32")
    yield _serve("tgi", "--max-total-tokens", "100", "--max-input-tokens", "100")


# Spec files: a field with a bad value, in YAML, run as they are.
BAD_FIELDS = {
    "engine": ["bogus", "[tgi]", "1", "null", "TGI", "{a: 1}"],
    "model": ["5", "[]", "''", "'~nouser/x'", "'a b'", "true"],
    "port": ["true", "'8080'", "1.5", "0", "70000", "[]", "-1", ".inf", ".nan"],
    "host": ["5", "example.com", "''", "[127.0.0.1]"],
    "quantization": ["[awq]", "int3", "5", "{a: 1}"],
    "dtype": ["float64", "1", "[float16]"],
    "tgi": ["hello", "3", "[]", "{bogus: 1}", "{max_input_tokens: true}", "{max_input_tokens: 0}"],
    "vllm": ["hello", "{impl: transformers}", "{version: 0.13.0garbage}"],
    "env": ["[]", "{A: 1}", "{'1X': a}", "x", "{A: [1]}", "{'A B': x}", "{A: null}"],
    "engine_args": ["x", "[1]", "[[x]]", "['--port', '1']", "[--hostname=0.0.0.0]", "{a: b}"],
    "lora_adapters": ["x", "['']", "[1]", "['a=']"],
    "api_key": ["'env:'", "5", "''", '"a\\nb"', "'file:'", "'file:/nonexistent'", "[k]", "'env:1X'"],
    "hf_token": ["'env:'", "true", "'file:~nouser/t'", "{a: b}"],
    "image": ["':'", "'tgi:3.3.7 --privileged'", "tgi:latest", "tgi", "5"],
    "volume": ["/a:/b", "5", "''", "'~nouser/x'"],
    "revision": ["2024-01-01", "5", "-main", "'a b'"],
    "trust_remote_code": ["'yes'", "1", "null"],
    "gpus": ["0", "[0, 1]", "'0,0'", "true"],
    "tensor_parallel_size": ["true", "'2'", "0", "2.5"],
    "max_model_len": ["false", "'4096'", "0"],
    "shm_size": ["1", "lots", '"1g\\n"'],
    "pull": ["sometimes", "true"],
    "runtime": ["process", "k8s"],
    "served_model_name": ["x", "5"],
    "modle_id": ["x"],
}
WITH_ENGINE_SWITCH = {
    "engine: [tgi]\nmodel: gpt2\n": ["--engine", "vllm"],
    "engine: bogus\nmodel: gpt2\n": ["--engine", "vllm"],
    "engine: tgi\nmodel: gpt2\nquantization: [awq]\n": ["--engine", "vllm"],
    "engine: tgi\nmodel: gpt2\ntgi: hello\n": ["--engine", "vllm"],
    "engine: tgi\nmodel: gpt2\ntgi: {max_concurrent_requests: x}\n": ["--engine", "vllm", "--lenient"],
    "engine: vllm\nmodel: gpt2\nvllm: {gpu_memory_utilization: x}\n": ["--engine", "tgi", "--lenient"],
    "engine: vllm\nmodel: gpt2\nvllm: [1]\n": ["--engine", "tgi"],
    "engine: tgi\nmodel: gpt2\nengine_args: [1]\n": ["--engine", "vllm", "--lenient"],
    "engine: tgi\nmodel: gpt2\nengine_args: [--cuda-graphs, '0']\n": ["--engine", "vllm"],
    "engine: tgi\nmodel: gpt2\ndtype: float32\n": ["--engine", "vllm", "--max-model-len", "x"],
    "engine: tgi\nmodel: gpt2\n": ["--engine", "bogus"],
    "engine: vllm\nmodel: gpt2\nserved_model_name: x\n": ["--engine", "tgi"],
    "model: gpt2\n": ["--engine", "tgi", "--port", "0"],
    "model: gpt2\nengine: [vllm]\n": ["--engine", "tgi"],
}


def _alias_bomb() -> str:
    text = "engine: tgi\nmodel: gpt2\nengine_args:\n- &a0 [a, a, a, a, a, a, a, a, a]\n"
    for level in range(1, 9):
        text += f"- &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]\n"
    return text


BAD_FILES: dict[str, str | bytes] = {
    "missing.yaml": "<absent>",
    "dir.yaml": "<dir>",
    "fifo.yaml": "<fifo>",
    "latin1.yaml": b"engine: tgi\nmodel: caf\xe9\n",
    "spec.txt": "engine: tgi\nmodel: gpt2\n",
    "empty.yaml": "",
    "list.yaml": "- engine\n- tgi\n",
    "scalar.yaml": "tgi\n",
    "deep.yaml": "[" * 5000 + "]" * 5000,
    "big.yaml": "# " + "x" * (2 * 1024 * 1024) + "\n",
    "bomb.yaml": _alias_bomb(),
    "self.yaml": "engine: tgi\nmodel: gpt2\nengine_args: &a [*a]\n",
    "dup.yaml": "engine: tgi\nmodel: gpt2\nport: 1\nport: 2\n",
    "dupnested.yaml": "engine: tgi\nmodel: gpt2\ntgi:\n  max_input_tokens: 1\n  max_input_tokens: 2\n",
    "syntax.yaml": "engine: tgi\nmodel: [gpt2\n",
    "tabs.yaml": "engine: tgi\n\tmodel: gpt2\n",
    "pyobj.yaml": "engine: !!python/object/apply:os.system [echo]\nmodel: gpt2\n",
    "complexkey.yaml": "? [a, b]\n: c\nengine: tgi\nmodel: gpt2\n",
    "nul.yaml": "engine: tgi\nmodel: gpt2\x00\n",
    "bad.toml": 'engine = "tgi"\nmodel = \n',
    "dup.toml": 'engine = "tgi"\nmodel = "gpt2"\nmodel = "x"\n',
    "date.toml": 'engine = "tgi"\nmodel = "gpt2"\nrevision = 2024-01-01\n',
    "deep.toml": "a = " + "[" * 3000 + "]" * 3000 + "\n",
    "latin1.toml": b'engine = "tgi"\nmodel = "caf\xe9"\n',
    LONG + ".yaml": "<absent>",
    "new\nline.yaml": "<absent>",
}


def _spec_file_cases() -> Iterator[Case]:
    for key, values in BAD_FIELDS.items():
        for value in values:
            engine = (
                "vllm" if key in ("runtime", "served_model_name") and value not in ("process", "x") else "tgi"
            )
            body = f"engine: {engine}\nmodel: gpt2\n" if key not in ("engine", "model") else ""
            if key == "engine":
                body = "model: gpt2\n"
            if key == "model":
                body = "engine: tgi\n"
            yield Case(("run", "spec.yaml", "--dry-run"), files={"spec.yaml": f"{body}{key}: {value}\n"})
    for text, options in WITH_ENGINE_SWITCH.items():
        yield Case(("run", "spec.yaml", *options, "--dry-run"), files={"spec.yaml": text})
    for name, content in BAD_FILES.items():
        files = {} if content == "<absent>" else {name: content}
        yield Case(("run", name, "--dry-run"), files=files)
        if name in ("dir.yaml", "fifo.yaml", "bomb.yaml", "dup.yaml", "latin1.yaml"):
            yield Case(("explain", name), files=files)
    bomb = {"bomb.yaml": _alias_bomb()}
    yield Case(
        ("run", "bomb.yaml", "--engine", "vllm", "--lenient", "--dry-run"), files=bomb, shows="aliases"
    )
    malformed = {"spec.yaml": "engine: tgi\nmodel: gpt2\ntgi: hello\n"}
    yield Case(("run", "spec.yaml", "--max-input-tokens", "5", "--dry-run"), files=malformed, shows="'hello'")
    yield Case(("explain", "spec.yaml", "--engine", "vllm"), files=malformed)
    fifo_secret = {"spec.yaml": "engine: tgi\nmodel: gpt2\nhf_token: file:secret\n", "secret": "<fifo>"}
    yield Case(("run", "spec.yaml", "--dry-run"), files=fifo_secret, shows="not a regular file")


def _convert_cases() -> Iterator[Case]:
    good = ("--", "vllm", "serve", "gpt2")
    for output in ("missing-dir/spec.yaml", "a-dir", "", "/", ".", "a-dir/"):
        yield Case(("convert", "-o", output, *good), files={"a-dir": "<dir>"})
    for line in (
        "vllm serve 'gpt2",
        'vllm serve "gpt2',
        "vllm serve gpt2 \\",
        "ls -la",
        "docker run",
        "docker run -p",
        "docker run --gpus all",
        "docker run -p abc:80 ghcr.io/huggingface/text-generation-inference:3.3.7",
        "docker run busybox:1",
        "vllm serve",
        "vllm serve --max-model-len",
        "vllm serve gpt2 --lora-modules",
        "python -m vllm.entrypoints.openai.api_server",
        "",
        "A=1",
    ):
        yield Case(("convert", line))
    yield Case(("convert", "--to", "k8s", *good))
    yield Case(("convert", "--to", "", *good))


def _click_cases() -> Iterator[Case]:
    yield Case(("tgi",))
    yield Case(("vllm",))
    yield Case(("run",))
    yield Case(("explain",))
    yield Case(("convert",))
    yield Case(("nosuch",))
    yield Case(("tgi", "gpt2", "--bogus"))
    yield Case(("tgi", "gpt2", "--port"))
    yield Case(("tgi", "gpt2", "--port", "abc"), shows="'abc'")
    yield Case(("tgi", "gpt2", "--port=abc"), shows="'abc'")
    yield Case(("vllm", "gpt2", "--gpu-memory-utilization", "half"), shows="'half'")
    yield Case(("tgi", "gpt2", "--ready-timeout", "soon"), shows="'soon'")
    yield Case(("stop",))
    yield Case(("stop", "x", "--all"))
    yield Case(("doctor", "--engine", "k8s"))
    yield Case(("ps", "--bogus"))
    yield Case(("schema", "extra"))
    yield Case(("--bogus",))


CASES = [*_option_cases(), *_spec_file_cases(), *_convert_cases(), *_click_cases()]


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 300


def _make(directory: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = directory / name
        if content == "<dir>":
            path.mkdir()
        elif content == "<fifo>":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _listing(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


@pytest.mark.usefixtures("no_vllm")
@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clean_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _make(work, case.files)
    monkeypatch.chdir(work)
    before = _listing(tmp_path)
    result = runner.invoke(app, list(case.args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == case.code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("llmserve: error: ")]
    assert len(errors) == 1, result.stderr
    assert all(line.startswith("llmserve: warning: ") for line in lines if line not in errors), result.stderr
    assert result.stderr.endswith("\n")
    assert "Traceback" not in result.stderr
    assert "Usage:" not in result.stderr
    assert case.shows in errors[0]
    assert PLANTED not in result.stderr
    assert _listing(tmp_path) == before
