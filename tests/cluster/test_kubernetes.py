"""deploy/kubernetes/: the manifests are valid Kubernetes objects (kubernetes-validate, the API's
own schemas, offline and strict), and the StatefulSet, the router's shard list and the committed
haproxy.cfg agree: the configuration is exactly what ``flowdock-mock cluster
--print-haproxy-config`` writes for those shards, and HAProxy accepts it."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mock_server.cluster.command import print_command
from mock_server.cluster.haproxy import haproxy_config, parse_shards
from mock_server.cluster.supervisor import find_haproxy
from mock_server.store.keys import shard_problem

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
MANIFESTS = ("namespace.yaml", "mock.yaml", "router.yaml")
VERSION = kubernetes_validate.latest_version()


def objects(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if doc]


def find(kind: str, name: str) -> dict[str, Any]:
    return next(
        o for f in MANIFESTS for o in objects(f) if o["kind"] == kind and o["metadata"]["name"] == name
    )


def aggregator_args() -> list[str]:
    pod = find("Deployment", "flowdock-mock-router")["spec"]["template"]["spec"]
    return list(next(c for c in pod["containers"] if c["name"] == "aggregator")["args"])


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifests__valid_kubernetes_objects(name: str) -> None:
    docs = objects(name)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_validation__catches_a_mistake() -> None:
    """The checker is not a no-op: a misspelt field and a wrong type are refused."""
    statefulset = find("StatefulSet", "flowdock-mock")
    misspelt = copy.deepcopy(statefulset)
    misspelt["spec"]["replica"] = misspelt["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, VERSION, strict=True)
    wrong = copy.deepcopy(statefulset)
    wrong["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, VERSION, strict=True)


def test_shards__one_per_pod_named_after_it_with_its_stable_dns_name() -> None:
    statefulset = find("StatefulSet", "flowdock-mock")
    namespace = statefulset["metadata"]["namespace"]
    service = statefulset["spec"]["serviceName"]
    assert find("Service", service)["spec"]["clusterIP"] == "None"  # headless: a DNS name per pod
    shards = parse_shards(option(aggregator_args(), "--shards"))
    pods = [f"{statefulset['metadata']['name']}-{i}" for i in range(statefulset["spec"]["replicas"])]
    assert [s.name for s in shards] == pods
    assert all(shard_problem(pod) is None for pod in pods)
    port = find("Service", service)["spec"]["ports"][0]["port"]
    assert [s.address for s in shards] == [
        f"{pod}.{service}.{namespace}.svc.cluster.local:{port}" for pod in pods
    ]
    # each pod's shard name is its own name
    env = {e["name"]: e for e in statefulset["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["FLOWDOCK_MOCK_SHARD"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    router = find("Service", "flowdock-mock-router")
    assert env["FLOWDOCK_MOCK_PUBLIC_URL"]["value"] == (
        f"http://{router['metadata']['name']}.{namespace}.svc.cluster.local:{router['spec']['ports'][0]['port']}"
    )


def test_haproxy_cfg__is_what_the_generator_writes_for_those_shards(tmp_path: Path) -> None:
    args = aggregator_args()
    shards = parse_shards(option(args, "--shards"))
    aggregator = f"{option(args, '--host')}:{option(args, '--port')}"
    port = find("Service", "flowdock-mock-router")["spec"]["ports"][0]["port"]
    expected = haproxy_config(
        shards,
        bind=f"0.0.0.0:{port}",
        aggregator=aggregator,
        resolvers=True,
        header=print_command(shards, "0.0.0.0", port, aggregator, True),
    )
    committed = (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")
    assert committed == expected, (
        "regenerate deploy/kubernetes/haproxy.cfg with the command on its first lines"
    )
    check = subprocess.run(
        [find_haproxy(), "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(MANIFESTS)
    assert kustomization["configMapGenerator"][0]["files"] == ["haproxy.cfg"]
