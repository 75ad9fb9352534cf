"""`llmserve render`: a spec as Kubernetes objects or a Compose file, printed or written."""

from __future__ import annotations

import shlex
from pathlib import Path

from llmserve.console import Console
from llmserve.deploy import compose, k8s
from llmserve.deploy.documents import to_yaml, to_yaml_documents, write_objects
from llmserve.errors import SpecError
from llmserve.output_files import write_atomically
from llmserve.spec import ServeSpec

TARGETS = ("k8s", "compose")


def render_target(spec: ServeSpec, target: str, output: Path | None, console: Console) -> None:
    """Render, then print (stdout) or write (-o); how to provide the secrets goes to stderr."""
    if target not in TARGETS:
        raise SpecError(f"--render {target!r} is not a target; use k8s or compose")
    if target == "k8s":
        objects = k8s.render(spec)
        service_type = spec.deploy.service_type
        if service_type != "ClusterIP" and spec.api_key is None and spec.deploy.api_key_secret is None:
            console.warn(
                f"Service type {service_type} without an API key: anyone who can reach the nodes or the "
                "load balancer can use the server; set api_key (it becomes a Secret reference)"
            )
        if output is None:
            console.result(to_yaml_documents(objects).rstrip("\n"))
        else:
            for path in write_objects(output, objects):
                console.info(f"wrote {path}")
        cache = spec.deploy.cache
        if (
            cache is not None
            and cache.existing_claim is None
            and spec.deploy.cache_access_mode == "ReadWriteMany"
        ):
            console.info("the cache claim is ReadWriteMany: its storage class must offer that")
        namespace = spec.deploy.namespace
        if namespace:
            console.info(f"the objects go into namespace {namespace}; unless it exists:")
            console.detail(f"kubectl create namespace {namespace}")
        console.info("create the Secrets the objects read (values read from your environment or files):")
        for line in k8s.secret_commands(spec):
            console.detail(line)
        if output is None:
            console.info(
                "then: save the documents and kubectl apply -f FILE, or pipe them: … | kubectl apply -f -"
            )
        else:
            console.info(f"then: kubectl apply -f {shlex.quote(str(output))}")
        return
    document = compose.render(spec)
    if output is None:
        console.result(to_yaml(document).rstrip("\n"))
    else:
        if output.is_dir():
            raise SpecError(f"-o {output} is a directory; name the Compose file, e.g. {output}/compose.yaml")
        write_atomically(output, to_yaml(document), create_parent=True)
        console.info(f"wrote {output}")
    variables = compose.secret_variables(spec)
    if variables:
        names = ", ".join(
            f"{name} ({'required' if required else 'optional'})" for name, required in variables
        )
        if spec.deploy.env_file:
            console.info(f"{spec.deploy.env_file} must set these variables for the engine: {names}")
        else:
            console.info(f"docker-compose reads the secrets from these environment variables: {names}")
    console.info(f"then: {compose.up_command(spec, str(output) if output is not None else 'FILE')}")
