"""`llmserve convert`: an existing TGI or vLLM command line, read as the engine reads it, as a spec.

Reads `docker run … <TGI or vLLM image> …`, `text-generation-launcher …` (with TGI's upper-case
environment variables), `vllm serve …` and `python -m vllm.entrypoints.openai.api_server …`.
Unknown flags are reported by name. Secrets never reach the spec, the notes or a message: every
value the secret policy (`redaction`) calls secret becomes a reference to the environment variable
that supplies it at launch (`env:NAME`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from llmserve.engines.flags import TGI_FLAGS, VLLM_FLAGS, Flag, lookup
from llmserve.errors import SpecError
from llmserve.redaction import is_secret_flag, is_secret_name, masked_word

HF_TOKEN_NAMES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
API_KEY_REFERENCE = "env:LLMSERVE_API_KEY"
HF_TOKEN_REFERENCE = "env:HF_TOKEN"
HF_TOKEN_FLAGS = ("hf-token", "huggingface-token")  # vLLM's newer --hf-token
API_KEY_NAMES = ("API_KEY", "VLLM_API_KEY")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

# `docker run` options that take a value (the rest used in serving lines are switches).
DOCKER_VALUE_OPTIONS = {
    "--gpus", "-p", "--publish", "-v", "--volume", "-e", "--env", "--env-file", "--shm-size", "--name",
    "--ipc", "--network", "--net", "--runtime", "--pull", "--restart", "-u", "--user", "-w", "--workdir",
    "--entrypoint", "--cpus", "-m", "--memory", "--ulimit", "--label", "-l", "--platform", "--device",
    "--mount", "--hostname", "-h", "--add-host", "--log-driver", "--log-opt", "--cap-add", "--security-opt",
}  # fmt: skip
DOCKER_SWITCHES = {"--rm", "-d", "--detach", "-i", "-t", "-it", "-ti", "--init", "--privileged", "-P"}


@dataclass
class Conversion:
    engine: str
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def split_command(words: list[str]) -> list[str]:
    """Words after `--`, or one quoted line (with backslash-newline continuations)."""
    if len(words) == 1:
        try:
            return shlex.split(words[0].replace("\\\n", " "))
        except ValueError as error:  # No closing quotation, No escaped character
            raise SpecError(
                f"the command line cannot be split into words ({str(error).lower()}); "
                "balance its quotes, or give the words after --"
            ) from None
    return [word for word in words if word != "\\"]


def convert(words: list[str]) -> Conversion:
    words = split_command(words)
    environment: dict[str, str] = {}
    while words and (words[0] == "env" or _ASSIGNMENT.match(words[0])):
        word = words.pop(0)
        if word != "env":
            name, _, value = word.partition("=")
            environment[name] = value
    if not words:
        raise SpecError("convert needs a command: docker run …, text-generation-launcher …, or vllm serve …")
    program = words[0].rsplit("/", 1)[-1]
    if program == "docker" and words[1:2] == ["run"]:
        return _docker_run(words[2:], environment)
    if program == "text-generation-launcher":
        return _tgi(words[1:], environment, Conversion("tgi"))
    if program == "vllm" and words[1:2] == ["serve"]:
        return _vllm(words[2:], environment, Conversion("vllm"))
    if "python" in program and words[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]:
        return _vllm(words[3:], environment, Conversion("vllm"))
    raise SpecError(
        f"{words[0]!r} is not a command convert reads; give docker run …, text-generation-launcher …, "
        "vllm serve … or python -m vllm.entrypoints.openai.api_server …"
    )


def _docker_run(words: list[str], environment: dict[str, str]) -> Conversion:
    docker: dict[str, list[str]] = {}
    unknown: list[str] = []
    while words and words[0].startswith("-"):
        word = words.pop(0)
        name, eq, attached = word.partition("=")
        if name in DOCKER_VALUE_OPTIONS:
            if not eq and not words:
                raise SpecError(f"docker {name} needs a value; the line is cut short")
            docker.setdefault(name, []).append(attached if eq else words.pop(0))
        elif name not in DOCKER_SWITCHES:
            unknown.append(name)
    if not words:
        raise SpecError("docker run names no image; give the whole docker run line")
    image = words.pop(0)
    if "text-generation-inference" in image:
        conversion = Conversion("tgi")
    elif "vllm" in image:
        conversion = Conversion("vllm")
        if words[:1] == ["serve"]:  # images before 0.11.1 took `serve` as an argument
            words = words[1:]
    else:
        raise SpecError(
            f"image {image} is neither TGI's nor vLLM's; convert reads lines that run one of them"
        )
    conversion.unknown += [f"docker {name}" for name in unknown]
    conversion.data["image"] = image
    for pair in docker.get("-e", []) + docker.get("--env", []):
        name, eq, value = pair.partition("=")
        if not _ENV_NAME.match(name):
            raise SpecError(
                f"docker -e {masked_word(pair)!r} is not NAME=VALUE nor NAME; fix the variable's name"
            )
        environment[name] = value if eq else f"<from the shell's ${name}>"
    for env_file in docker.get("--env-file", []):
        conversion.notes.append(f"docker --env-file {env_file} is not read: put its variables in env")
    mounts = _docker_options(docker, conversion)
    parse = _tgi if conversion.engine == "tgi" else _vllm
    conversion = parse(words, environment, conversion)
    _model_on_the_host(conversion, mounts)
    return conversion


def _model_on_the_host(conversion: Conversion, mounts: list[tuple[str, str]]) -> None:
    """A model given by its path inside the container becomes its path on the host."""
    model = str(conversion.data.get("model", ""))
    for source, target in mounts:
        if model == target or model.startswith(target.rstrip("/") + "/"):
            conversion.data["model"] = source.rstrip("/") + model[len(target.rstrip("/")) :]
            conversion.notes.append(f"model {model} is {conversion.data['model']} on the host (from -v)")
            return


def _docker_options(docker: dict[str, list[str]], conversion: Conversion) -> list[tuple[str, str]]:
    """Spec fields from docker's options; returns the other mounts (source, target)."""
    data = conversion.data
    mounts: list[tuple[str, str]] = []
    gpus = docker["--gpus"][-1] if docker.get("--gpus") else None
    if gpus is not None:
        device = re.search(r"device=([\d,]+)", gpus)
        data["gpus"] = device.group(1) if device else ("all" if gpus in ("all", "-1") else gpus)
    else:
        data["gpus"] = "none"
    for publish in docker.get("-p", []) + docker.get("--publish", []):
        parts = publish.split(":")
        if len(parts) >= 2:
            if not parts[-2].isdigit():
                raise SpecError(f"docker -p {publish}: the host port must be a number, as in -p 8080:80")
            data["port"] = int(parts[-2])
            if len(parts) == 3 and parts[0]:
                data["host"] = parts[0]
            else:
                conversion.notes.append(
                    f"-p {publish} listens on every interface; llmserve listens on 127.0.0.1 "
                    "unless you add --host 0.0.0.0"
                )
    if docker.get("--shm-size"):
        data["shm_size"] = docker["--shm-size"][-1]
    for volume in docker.get("-v", []) + docker.get("--volume", []):
        source, _, target = volume.partition(":")
        target = target.split(":")[0]
        if target in ("/data", "/root/.cache/huggingface"):
            data["volume"] = source
        else:
            mounts.append((source, target))
    for ignored in ("--ipc", "--name", "--runtime"):
        if docker.get(ignored):
            conversion.notes.append(f"docker {ignored} {docker[ignored][-1]}: llmserve sets this itself")
    return mounts


def _secrets_from_environment(environment: dict[str, str], conversion: Conversion) -> None:
    """Secret-looking variables become references: the spec says where the value comes from."""
    for name in list(environment):
        if not is_secret_name(name):
            continue
        environment.pop(name)
        if name in HF_TOKEN_NAMES:
            _hf_token(conversion, name)
        elif name in API_KEY_NAMES:
            _api_key(conversion)
        else:
            conversion.data.setdefault("env", {})[name] = f"env:{name}"
            conversion.notes.append(f"{name}: a secret, not copied; it is read from ${name} at launch")


def _hf_token(conversion: Conversion, source: str) -> None:
    conversion.data["hf_token"] = HF_TOKEN_REFERENCE
    conversion.notes.append(f"{source}: the token is not copied; give it at launch in $HF_TOKEN")


def _api_key(conversion: Conversion) -> None:
    conversion.data["api_key"] = API_KEY_REFERENCE
    conversion.notes.append("the API key is not copied; give it at launch in $LLMSERVE_API_KEY")


def _unknown_secret_flag(word: str, words: list[str], conversion: Conversion) -> None:
    """A flag llmserve does not know whose name looks secret: its value is dropped, never echoed."""
    name = word.split("=", 1)[0]
    if "=" not in word and words and not words[0].startswith("-"):
        words.pop(0)
    if name.lstrip("-") in HF_TOKEN_FLAGS:
        _hf_token(conversion, name)
    else:
        conversion.notes.append(f"{name}: a secret, not copied; give the engine its value at launch")


def _parse_flags(
    words: list[str], table: dict[str, Flag], conversion: Conversion
) -> list[tuple[Flag, list[str]]]:
    """(flag, values) pairs, as the engine's parser reads them; unknown flags reported by name."""
    found: list[tuple[Flag, list[str]]] = []
    while words:
        word = words.pop(0)
        flag = lookup(table, word) if word.startswith("-") else None
        if flag is None and is_secret_flag(word):
            _unknown_secret_flag(word, words, conversion)
            continue
        if flag is None:
            conversion.unknown.append(word)
            # An unknown flag's value (a word not starting with -) goes with it.
            if word.startswith("-") and "=" not in word and words and not words[0].startswith("-"):
                conversion.unknown[-1] += f" {words.pop(0)}"
            continue
        values: list[str] = []
        if "=" in word:
            values.append(word.split("=", 1)[1])
        elif flag.multiple:
            while words and not words[0].startswith("-"):
                values.append(words.pop(0))
            if not values:
                raise SpecError(f"{word} needs at least one value; the line is cut short")
        elif flag.takes_value:
            if not words:
                raise SpecError(f"{word} needs a value; the line is cut short")
            values.append(words.pop(0))
        found.append((flag, values))
    return found


def _set_field(conversion: Conversion, flag: Flag, values: list[str]) -> None:
    assert flag.field is not None
    section, _, key = flag.field.rpartition(".")
    target = conversion.data.setdefault(section, {}) if section else conversion.data
    if not flag.takes_value:
        target[key] = True
    elif key == "lora_adapters":
        target[key] = [a for value in values for a in value.split(",") if a]
    else:
        value = values[-1]
        target[key] = int(value) if value.isdigit() and key != "model" else value


CONTAINER_SIDE_FIELDS = ("host", "port")  # in a docker line, docker's -p says where clients connect


def _apply(conversion: Conversion, pairs: list[tuple[Flag, list[str]]]) -> None:
    engine_args: list[str] = []
    in_container = "image" in conversion.data
    for flag, values in pairs:
        if flag.kind == "field" and in_container and flag.field in CONTAINER_SIDE_FIELDS:
            conversion.notes.append(f"--{flag.name} {values[-1]} is the container's own: llmserve sets it")
        elif flag.kind == "field":
            _set_field(conversion, flag, values)
        elif flag.kind == "secret":
            if flag.name == "api-key":
                _api_key(conversion)
            else:
                conversion.notes.append(f"--{flag.name}: a secret, not copied; give it at launch")
        elif flag.kind == "passthrough":
            engine_args += [f"--{flag.name}", *values]
        elif flag.name not in ("enable-lora",):
            conversion.notes.append(f"--{flag.name} {' '.join(values)}: llmserve sets this itself".rstrip())
    if engine_args:
        conversion.data["engine_args"] = engine_args


def _tgi(words: list[str], environment: dict[str, str], conversion: Conversion) -> Conversion:
    _secrets_from_environment(environment, conversion)
    # The launcher reads each flag from its upper-case environment variable when not given.
    for name in list(environment):
        flag = TGI_FLAGS.get(name.lower().replace("_", "-"))
        if flag is not None and flag.name not in ("port", "hostname"):
            value = environment.pop(name)
            words = [*words, f"--{flag.name}", value] if flag.takes_value else [*words, f"--{flag.name}"]
    _apply(conversion, _parse_flags(list(words), TGI_FLAGS, conversion))
    _leftover_environment(environment, conversion)
    conversion.data.setdefault("model", "bigscience/bloom-560m")  # the launcher's own default
    return _with_engine_first(conversion)


def _vllm(words: list[str], environment: dict[str, str], conversion: Conversion) -> Conversion:
    _secrets_from_environment(environment, conversion)
    words = list(words)
    if words and not words[0].startswith("-"):
        conversion.data["model"] = words.pop(0)
    _apply(conversion, _parse_flags(words, VLLM_FLAGS, conversion))
    _leftover_environment(environment, conversion)
    if "model" not in conversion.data:
        raise SpecError("the vLLM line names no model; give it as `vllm serve MODEL`")
    return _with_engine_first(conversion)


def _leftover_environment(environment: dict[str, str], conversion: Conversion) -> None:
    for name, value in environment.items():
        if value.startswith("<from the shell"):
            conversion.notes.append(
                f"-e {name} takes its value from the shell at launch: set it in env yourself"
            )
        else:
            conversion.data.setdefault("env", {})[name] = value


def _with_engine_first(conversion: Conversion) -> Conversion:
    conversion.data = {"engine": conversion.engine, **conversion.data}
    return conversion
