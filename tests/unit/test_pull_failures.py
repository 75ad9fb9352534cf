"""Pull failures classified from the Docker daemon's own messages (captured from a real daemon where
this machine can produce them: Docker 20.10 against Debian's registry and a host without DNS)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from docker.errors import APIError

from llmserve.console import Console
from llmserve.errors import ExitCode
from llmserve.runtimes.docker import PullFailed, pull
from llmserve.runtimes.pull_failures import classify, registry_of, tag_of

TGI = "ghcr.io/huggingface/text-generation-inference:3.3.7"
# Captured here: `docker pull` on a machine whose DNS knows no public host.
DNS = 'Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io on 10.255.255.53:53: no such host'
# Captured here: a registry that is not running.
REFUSED = 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'
# Captured here: Debian's docker-registry, an unknown tag.
MANIFEST = "manifest for 127.0.0.1:5071/nothing:1.0 not found: manifest unknown: manifest unknown"
# Captured here: Debian's docker-registry with htpasswd auth, no `docker login`.
NO_CREDENTIALS = 'Head "http://127.0.0.1:5072/v2/nothing/manifests/1.0": no basic auth credentials'
# From Docker Hub and from Docker's layer store, as users report them (not reproducible here).
RATE_LIMITED = (
    "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
    "authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)
NO_SPACE = (
    "failed to register layer: Error processing tar file(exit status 1): write "
    "/opt/conda/lib/libnvvm.so.3.3.0: no space left on device"
)
HUB_DENIED = (
    "pull access denied for org/nothing, repository does not exist or may require 'docker login': "
    "denied: requested access to the resource is denied"
)
TIMEOUT = (
    'Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection '
    "(Client.Timeout exceeded while awaiting headers)"
)
PLAIN_HTTP = 'Get "https://10.0.0.5:5000/v2/": http: server gave HTTP response to HTTPS client'


@pytest.mark.parametrize(
    ("message", "image", "cause", "fix", "code"),
    [
        (DNS, TGI, "ghcr.io cannot be resolved (DNS)", "--pull never", ExitCode.ENVIRONMENT),
        (
            REFUSED,
            "127.0.0.1:1/nothing:1.0",
            "127.0.0.1:1 is unreachable",
            "docker load",
            ExitCode.ENVIRONMENT,
        ),
        (
            TIMEOUT,
            "vllm/vllm-openai:v0.32.0",
            "docker.io did not answer in time",
            "proxy",
            ExitCode.ENVIRONMENT,
        ),
        (
            NO_CREDENTIALS,
            "127.0.0.1:5072/nothing:1.0",
            "127.0.0.1:5072 wants credentials",
            "`docker login 127.0.0.1:5072`",
            ExitCode.ENVIRONMENT,
        ),
        (
            HUB_DENIED,
            "org/nothing:1.0",
            "docker.io wants credentials",
            "`docker login docker.io`",
            ExitCode.ENVIRONMENT,
        ),
        (
            MANIFEST,
            "127.0.0.1:5071/nothing:1.0",
            "127.0.0.1:5071 has no 127.0.0.1:5071/nothing:1.0",
            "check that tag 1.0 exists",
            ExitCode.USAGE,
        ),
        (
            RATE_LIMITED,
            "vllm/vllm-openai:v0.32.0",
            "rate limited",
            "`docker login docker.io`",
            ExitCode.ENVIRONMENT,
        ),
        (NO_SPACE, TGI, "disk is full", "docker image prune", ExitCode.ENVIRONMENT),
        (PLAIN_HTTP, "10.0.0.5:5000/x:1.0", "speaks plain http", "insecure-registries", ExitCode.ENVIRONMENT),
        ("something new", TGI, "ghcr.io refused", "check the image name", ExitCode.FAILURE),
    ],
)
def test_each_class_keeps_the_daemon_words_and_says_what_to_do(
    message: str, image: str, cause: str, fix: str, code: ExitCode
) -> None:
    failure = classify(message, image)
    assert cause in failure.cause
    assert " ".join(message.split())[:100] in failure.cause  # the daemon's own explanation
    assert fix in failure.fix
    assert failure.exit_code == code
    assert "\n" not in failure.cause + failure.fix


def test_the_sdk_wrapping_is_dropped() -> None:
    wrapped = (
        "500 Server Error for http+docker://localhost/v1.41/images/create?tag=3.3.7&fromImage=ghcr.io%2F"
        f'huggingface%2Ftext-generation-inference: Internal Server Error ("{DNS}")'
    )
    failure = classify(wrapped, TGI)
    assert "http+docker" not in failure.cause
    assert DNS in failure.cause


def test_a_pinned_default_tag_says_so() -> None:
    failure = classify("manifest for ghcr.io/huggingface/text-generation-inference:3.3.7 not found", TGI)
    assert "llmserve pins tag 3.3.7" in failure.fix
    assert "--image" in failure.fix


@pytest.mark.parametrize(
    ("image", "registry", "tag"),
    [
        (TGI, "ghcr.io", "3.3.7"),
        ("vllm/vllm-openai:v0.32.0", "docker.io", "v0.32.0"),
        ("ubuntu", "docker.io", "latest"),
        ("127.0.0.1:5000/x/y:1.0", "127.0.0.1:5000", "1.0"),
        ("localhost/x:2", "localhost", "2"),
        ("127.0.0.1:5000/x", "127.0.0.1:5000", "latest"),
    ],
)
def test_registry_and_tag_of_an_image(image: str, registry: str, tag: str) -> None:
    assert registry_of(image) == registry
    assert tag_of(image) == tag


class FakeApi:
    """The one seam: the docker client's low-level pull, answering as the daemon did."""

    def __init__(self, events: list[dict[str, str]] | None = None, error: Exception | None = None) -> None:
        self.events = events or []
        self.error = error

    def pull(self, repository: str, **_kwargs: object) -> Iterator[dict[str, str]]:
        if self.error is not None:
            raise self.error
        yield from self.events


@pytest.mark.parametrize(
    "api",
    [
        # The daemon refused at once: the SDK's APIError wraps its words in its own request URL.
        FakeApi(
            error=APIError(
                "500 Server Error for http+docker://localhost/v1.41/images/create", explanation=NO_CREDENTIALS
            )
        ),
        # The daemon failed mid-stream: its words arrive as an event.
        FakeApi(events=[{"status": "Pulling from nothing"}, {"error": NO_CREDENTIALS}]),
    ],
)
def test_pull_reports_the_class_whichever_way_the_daemon_fails(api: FakeApi) -> None:
    client = type("Client", (), {"api": api})()
    with pytest.raises(PullFailed) as caught:
        pull(client, "127.0.0.1:5072/nothing:1.0", Console(err=io.StringIO()))
    assert caught.value.exit_code == ExitCode.ENVIRONMENT
    assert caught.value.message.startswith("could not pull 127.0.0.1:5072/nothing:1.0: 127.0.0.1:5072 wants")
    assert "no basic auth credentials" in caught.value.message
    assert "http+docker" not in caught.value.message
