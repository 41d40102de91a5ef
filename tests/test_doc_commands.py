"""Every shell command in README.md and docs/*.md works verbatim, or is skipped for a stated reason.

Like ``tests/test_readme_examples.py`` for the Python blocks: the ``bash`` blocks are
extracted, every command is classified, and the runnable ones run (as a new user would,
in order, one shell per block) in a working directory laid out like a fresh clone after
``make demo``: the project's code, ``.venv`` and ``./data`` filled by ``jobs.demo`` with
a small dataset. Commands that need a cluster, a server, root, or minutes of load are
listed in ``SKIPPED`` with the reason; a command that is neither runnable nor skipped
fails :func:`test_every_command_is_run_or_skipped_with_a_reason`.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = {"bash", "sh", "shell"}

# (pattern, reason): a command matching the pattern is not run by this test.
SKIPPED: tuple[tuple[str, str], ...] = (
    (
        r"^make (demo|test)\b",
        "builds the environment and runs minutes of work; this test runs "
        "the same steps (jobs.demo) on a small dataset",
    ),
    (
        r"^make (lint|serve)\b|^make serve &",
        "make serve starts a server (tests/serving covers the "
        "routes); make lint runs the linters (CI)",
    ),
    (
        r"\bcurl\b",
        "needs the running server from `make serve` (the same routes run in tests/serving)",
    ),
    (
        r"--master (spark|k8s)://|SPARK_MASTER=yarn",
        "needs a Spark cluster "
        "(tests/reliability/test_standalone_cluster.py runs a standalone one)",
    ),
    (r"ensure_browser|apt-get", "needs root (apt-get)"),
    (
        r"^kubectl\b|^make (image|base-image|test-images)\b|^podman\b|^buildah\b|"
        r"deploy/images/",
        "needs a Kubernetes cluster or builds container images (tests/deploy validates the "
        "manifests; make test-images runs the image smoke tests)",
    ),
    (
        r"\bmake worker\b",
        "runs the queue worker until stopped (`python -m jobs.worker --once` runs here; "
        "tests/jobs/test_etl_queue_end_to_end.py covers the worker loop)",
    ),
    (r"^(UPDATE_SCREENSHOTS=1 )?\.venv/bin/pytest", "runs the test suite itself"),
    (
        r"bench/(bench_|peers/)",
        "benchmark, or the install of its peer libraries' virtualenvs (about 1 GB): minutes "
        "of load; figures in docs/BENCHMARKS.md",
    ),
    (
        r"jobs\.generate .*(--events 1000000|--profile district)",
        "generates a large dataset "
        "into ./data/raw (minutes); the generator is tested in tests/generator",
    ),
)


@dataclass(frozen=True)
class Command:
    """One command of a shell block (continuation lines joined)."""

    source: str
    line: int
    text: str

    def skip_reason(self) -> str | None:
        """Why it is not run, or None when it runs."""
        for pattern, reason in SKIPPED:
            if re.search(pattern, self.text):
                return reason
        return None


def shell_blocks(path: Path) -> list[list[Command]]:
    """The shell blocks of a Markdown file, each as its commands in order."""
    blocks: list[list[Command]] = []
    language: str | None = None
    pending = ""
    start = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if language is None:
                language = line[3:].strip() or "text"
                if language in SHELL_LANGUAGES:
                    blocks.append([])
            else:
                language = None
            continue
        if language not in SHELL_LANGUAGES:
            continue
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        blocks[-1].append(Command(path.relative_to(ROOT).as_posix(), start, text))
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in shell_blocks(path) if block]
ALL_COMMANDS = [command for block in ALL_BLOCKS for command in block]


def test_commands_are_found_in_readme_and_docs() -> None:
    sources = {c.source for c in ALL_COMMANDS}
    assert {"README.md", "docs/api.md"} <= sources
    assert len(ALL_COMMANDS) > 20


def test_every_command_is_run_or_skipped_with_a_reason() -> None:
    """Placeholders (``<tenant-uuid>``, ``...``, ``UUID``) never reach a runnable command."""
    for command in ALL_COMMANDS:
        if command.skip_reason() is None:
            assert not re.search(r"<[a-z-]+>|\.\.\.| UUID\b", command.text), command


def test_relative_links_in_docs_point_to_files_that_exist() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for path in DOCS:
        for target in link.findall(path.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (path.parent / target).exists(), f"{path.name}: link to missing {target}"


def test_no_internal_ticket_tags_in_user_facing_text(tmp_path: Path) -> None:
    tags = re.compile(r"S2-15|seed 003|Phase \d")
    for path in DOCS:
        assert not tags.search(path.read_text(encoding="utf-8")), path.name
    # Shipped code too: help() shows its docstrings and the pages render its templates.
    shipped = [
        path
        for package in ("contracts", "conf", "jobs", "privacy_udfs", "serving", "notebooks")
        for path in (ROOT / package).rglob("*")
        if path.suffix in {".py", ".html", ".js", ".toml", ".ipynb"}
    ]
    tagged = [str(p.relative_to(ROOT)) for p in shipped if tags.search(p.read_text("utf-8"))]
    assert not tagged, f"internal ticket tags in shipped code: {tagged}"
    from serving.app import create_app

    app = create_app({"JWT_SECRET": secrets.token_urlsafe(48), "DATA_ROOT": str(tmp_path)})
    spec = app.test_client().get("/docs/openapi.json").get_data(as_text=True)
    assert not tags.search(spec)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A working directory like a fresh clone after ``make demo`` (small data)."""
    work = tmp_path_factory.mktemp("clone")
    for name in (
        "contracts",
        "jobs",
        "privacy_udfs",
        "conf",
        "serving",
        "bench",
        "scripts",
        "notebooks",
        ".venv",
        ".cache",
        "spark-submit.sh",
        "Makefile",
        "setup.py",
        "pyproject.toml",
        "requirements.lock",
    ):
        if (ROOT / name).exists():
            (work / name).symlink_to(ROOT / name)
    key_file = tmp_path_factory.mktemp("secrets") / "pseudonym.key"
    key_file.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSEUDONYM_", "DATA_ROOT"))}
    # The demo key lives outside the data root; here outside the repository too, so the
    # test never touches a developer's own .secrets/.
    env.update(
        PSEUDONYM_KEY_FILE=str(key_file),
        JWT_SECRET=secrets.token_urlsafe(48),
        SPARK_MASTER="local[2]",
        SPARK_SHUFFLE_PARTITIONS="2",
    )
    demo = subprocess.run(
        [str(work / ".venv/bin/python"), "-m", "jobs.demo", "--events", "3000"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    return work, env


@pytest.mark.slow
def test_runnable_commands_work_verbatim_after_the_demo(
    fresh_clone: tuple[Path, dict[str, str]],
) -> None:
    work, env = fresh_clone
    ran = 0
    for block in ALL_BLOCKS:
        runnable = [c for c in block if c.skip_reason() is None]
        if not runnable:
            continue
        script = "set -euo pipefail\n" + "\n".join(c.text for c in runnable)
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        where = f"{runnable[0].source}:{runnable[0].line}"
        assert result.returncode == 0, f"{where}\n{script}\n{result.stderr[-3000:]}"
        ran += len(runnable)
    assert ran >= 8
