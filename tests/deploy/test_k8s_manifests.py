"""deploy/k8s: valid against a pinned Kubernetes version, and the invariants a platform team expects."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"  # the oldest minor still supported upstream when this was written
SECRET_VARIABLES = {
    "JWT_SECRET", "EXPORT_KEY", "PSEUDONYM_KEY", "RATE_LIMIT_STORAGE_URI",
    "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_KEY",
}  # fmt: skip


def _manifests() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[dict[str, Any]]:
    return [doc for path in _manifests() for doc in yaml.safe_load_all(path.read_text()) if doc]


def _validator() -> str:
    found = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    assert found, "kubernetes-validate is a test dependency (pyproject.toml [test])"
    return found


def _validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_validator(), "--strict", "--kubernetes-version", KUBERNETES_VERSION, *map(str, paths)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_manifests_validate_strictly_against_a_pinned_kubernetes_version(tmp_path):
    result = _validate(_manifests())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout
    # Negative control: an unknown field is rejected, so the check above can fail.
    broken = tmp_path / "broken.yaml"
    broken.write_text((K8S / "api.yaml").read_text().replace("replicas: 2", "replica: 2", 1))
    rejected = _validate([broken])
    assert rejected.returncode != 0 and "replica" in rejected.stdout + rejected.stderr


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in _manifests())


def _pod_specs() -> dict[str, dict[str, Any]]:
    pods = {}
    for doc in _documents():
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            pods[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            pods[doc["metadata"]["name"]] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pods


def test_every_pod_runs_non_root_read_only_with_limits():
    pods = _pod_specs()
    assert {"analytics-api", "analytics-worker", "analytics-run-all-nightly",
            "analytics-retain"} <= set(pods)  # fmt: skip
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where


def test_api_has_replicas_probes_service_budget_and_network_policy():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _documents()}
    api = docs[("Deployment", "analytics-api")]
    assert api["spec"]["replicas"] == 2
    container = api["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/v1/health", probe
    assert ("Service", "analytics-api") in docs
    budget = docs[("PodDisruptionBudget", "analytics-api")]
    assert budget["spec"]["minAvailable"] == 1
    policy = docs[("NetworkPolicy", "analytics-api")]
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["RATE_LIMIT_STORAGE_URI"]["valueFrom"]  # Redis: shared limits
    assert "PSEUDONYM_KEY" not in env  # the API never needs the pseudonym key


def test_no_secret_value_is_committed():
    kinds = {d["kind"] for d in _documents()}
    assert "Secret" not in kinds
    for name, pod in _pod_specs().items():
        for container in pod["containers"]:
            for variable in container.get("env", []):
                if variable["name"] in SECRET_VARIABLES:
                    assert "value" not in variable, (
                        f"{name}: {variable['name']} has a literal value"
                    )
                    assert "secretKeyRef" in variable["valueFrom"], name
            if "JWT_SECRET" in {v["name"] for v in container.get("env", [])}:
                assert name == "analytics-api", f"{name} gets the API's signing key"
    for doc in _documents():
        if doc["kind"] == "ConfigMap":
            assert not SECRET_VARIABLES & set(doc["data"]), doc["metadata"]["name"]
    text = "\n".join(p.read_text() for p in K8S.glob("*.yaml"))
    assert not re.search(r"redis://[^\s@]*:[^\s@]+@", text)  # no password in a URL


def test_cronjob_schedules_are_the_documented_ones():
    readme = (REPO / "README.md").read_text()
    block = readme.split("```cron", 1)[1].split("```", 1)[0]
    documented = {
        " ".join(line.split()[:5])
        for line in block.strip().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    scheduled = {d["spec"]["schedule"] for d in _documents() if d["kind"] == "CronJob"}
    assert scheduled == documented


def _closed_periods() -> dict[str, tuple[str, str]]:
    """What each CronJob must compute today: yesterday, and the last full month."""
    today = datetime.datetime.now(datetime.UTC).date()
    yesterday = today - datetime.timedelta(days=1)
    last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
    return {
        "analytics-run-all-nightly": (yesterday.isoformat(), yesterday.isoformat()),
        "analytics-run-all-monthly-dp": (
            last_month_end.replace(day=1).isoformat(),
            last_month_end.isoformat(),
        ),
    }


@pytest.mark.parametrize("name", ["analytics-run-all-nightly", "analytics-run-all-monthly-dp"])
def test_cronjob_periods_compute_in_a_posix_shell(name, tmp_path):
    """The CronJob's shell computes the closed period it documents and calls run_all with it."""
    pod = _pod_specs()[name]
    script = pod["containers"][0]["args"][0]
    fake = tmp_path / "spark-submit.sh"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", "-c", script.replace("/opt/analytics/spark-submit.sh", str(fake))],
        capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": "/usr/bin:/bin", "SPARK_MASTER": "local[2]", "POD_IP": "10.0.0.1",
             "JOBS_IMAGE": "analytics-jobs:0.1.0"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    start, end = words[words.index("--start") + 1], words[words.index("--end") + 1]
    assert (start, end) == _closed_periods()[name]
    assert "run_all" in words
