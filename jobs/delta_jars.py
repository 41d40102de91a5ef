"""Fetch the Delta Lake jars once into a local jar directory; start Spark from it.

Spark's own ``spark.jars.packages`` resolves jars over the network at every
start, which fails on an air-gapped cluster and slows every test session. We
fetch the Delta jars once from Maven Central, verify their SHA-1 checksums and
keep them in a jar directory: ``$DELTA_JARS_DIR`` (the images set it; ``make``
sets it to the checkout's ``.cache/jars``), else ``./.cache/jars`` when it
exists, else the user cache (``$XDG_CACHE_HOME/privacy-learning-analytics/jars``).
Sessions and ``spark-submit.sh`` then use the local files (``spark.jars`` /
``--jars``), so later runs need no network and the same directory can be
copied to a cluster.

The list below is the runtime closure of ``io.delta:delta-spark_2.13``
minus what the pyspark distribution already ships (Scala library, ANTLR
runtime): delta-spark declares Spark itself as ``provided``.

Usage::

    python -m jobs.delta_jars fetch            # into the jar directory (idempotent)
    python -m jobs.delta_jars fetch --from-dir /mnt/jars   # offline: copy and verify
    python -m jobs.delta_jars path             # print the jar paths, comma-separated
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jobs.errors import JobError

DELTA_VERSION = "4.0.1"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
JARS_DIR_ENV = "DELTA_JARS_DIR"
MAVEN_REPO_ENV = "MAVEN_REPO_URL"
LOCAL_JARS_DIR = Path(".cache") / "jars"  # relative to the working directory, like ./data


@dataclass(frozen=True)
class MavenJar:
    """One Maven artifact with the SHA-1 Maven Central publishes for it."""

    group: str
    artifact: str
    version: str
    sha1: str

    @property
    def file_name(self) -> str:
        """File name of the jar as Maven stores it."""
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        """Download URL of the jar in a Maven 2 layout repository."""
        group_path = self.group.replace(".", "/")
        return f"{repository}/{group_path}/{self.artifact}/{self.version}/{self.file_name}"


DELTA_JARS: tuple[MavenJar, ...] = (
    MavenJar(
        "io.delta", "delta-spark_2.13", DELTA_VERSION, "3e469898dc4ed083c735ae360beb063adcd12e9d"
    ),
    MavenJar(
        "io.delta", "delta-storage", DELTA_VERSION, "ebc5384d953c1d70d0ce4ceee42892da74051a81"
    ),
)

# Jars that the pyspark wheel ships and delta-spark needs at runtime.
SPARK_PROVIDED_PREFIXES: tuple[str, ...] = ("antlr4-runtime-4.13", "scala-library-2.13")


class DeltaJarsMissingError(JobError, RuntimeError):
    """The Delta jars are neither cached nor downloadable; names what to provide."""


def default_jars_dir() -> Path:
    """Return the jar directory; nothing is derived from where the package is installed.

    ``$DELTA_JARS_DIR`` if set; else ``./.cache/jars`` if that directory exists (a
    checkout after ``make setup``); else the user cache directory.
    """
    configured = os.environ.get(JARS_DIR_ENV)
    if configured:
        return Path(configured)
    if LOCAL_JARS_DIR.is_dir():
        return LOCAL_JARS_DIR.resolve()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "privacy-learning-analytics" / "jars"


def _sha1_of(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_cached(jar: MavenJar, jars_dir: Path) -> bool:
    """Tell whether ``jar`` is in ``jars_dir`` with the expected checksum."""
    path = jars_dir / jar.file_name
    return path.is_file() and _sha1_of(path) == jar.sha1


def missing_jars(jars_dir: Path) -> list[MavenJar]:
    """List the Delta jars that are not (correctly) in ``jars_dir``."""
    return [jar for jar in DELTA_JARS if not is_cached(jar, jars_dir)]


def _install_verified(source: Path, jar: MavenJar, jars_dir: Path) -> None:
    actual = _sha1_of(source)
    if actual != jar.sha1:
        raise DeltaJarsMissingError(
            f"{source} has SHA-1 {actual}, expected {jar.sha1} for "
            f"{jar.group}:{jar.artifact}:{jar.version}; refusing to use it."
        )
    # Copy to a temporary name first so a crash never leaves a half-written jar.
    target = jars_dir / jar.file_name
    partial = target.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


def _download(jar: MavenJar, repository: str, jars_dir: Path, timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        downloaded = Path(tmp) / jar.file_name
        with urllib.request.urlopen(jar.url(repository), timeout=timeout) as response:
            downloaded.write_bytes(response.read())
        _install_verified(downloaded, jar, jars_dir)


def fetch_delta_jars(
    jars_dir: Path | None = None,
    *,
    from_dir: Path | None = None,
    repository: str | None = None,
    timeout: float = 120.0,
) -> list[Path]:
    """Make sure every Delta jar is in ``jars_dir``; download or copy what is missing.

    Args:
        jars_dir: The cache directory; defaults to :func:`default_jars_dir`.
        from_dir: A directory that already holds the jars (air-gapped machines);
            nothing is downloaded when given.
        repository: A Maven 2 repository URL; defaults to ``$MAVEN_REPO_URL`` or
            Maven Central.
        timeout: Seconds to wait for each download.

    Returns:
        The paths of the cached jars, in classpath order.

    Raises:
        DeltaJarsMissingError: A jar could not be obtained; the message names
            the jar, the URL tried and how to provide it by hand.
    """
    target_dir = jars_dir or default_jars_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    repo = repository or os.environ.get(MAVEN_REPO_ENV, MAVEN_CENTRAL)
    for jar in missing_jars(target_dir):
        if from_dir is not None:
            source = from_dir / jar.file_name
            if not source.is_file():
                raise DeltaJarsMissingError(
                    f"{source} does not exist: put {jar.file_name} "
                    f"({jar.group}:{jar.artifact}:{jar.version}) there."
                )
            _install_verified(source, jar, target_dir)
            continue
        try:
            _download(jar, repo, target_dir, timeout)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DeltaJarsMissingError(
                f"Could not download {jar.url(repo)} ({error}).\n"
                f"Provide the Delta Lake jars by hand: put {', '.join(j.file_name for j in DELTA_JARS)} "
                f"in a directory and run `python -m jobs.delta_jars fetch --from-dir DIR`, "
                f"or point ${JARS_DIR_ENV} at it, or set ${MAVEN_REPO_ENV} to a reachable mirror."
            ) from error
    return delta_jar_paths(target_dir)


def delta_jar_paths(jars_dir: Path | None = None) -> list[Path]:
    """Return the cached jar paths, failing with guidance when any is missing.

    Raises:
        DeltaJarsMissingError: Some jar is not in the cache.
    """
    directory = jars_dir or default_jars_dir()
    absent = missing_jars(directory)
    if absent:
        raise DeltaJarsMissingError(
            f"Delta Lake jars missing from {directory}: "
            f"{', '.join(jar.file_name for jar in absent)}. "
            "Run `make setup` (or `python -m jobs.delta_jars fetch`) once with access to "
            f"Maven Central, or set ${JARS_DIR_ENV} to a directory holding them."
        )
    return [directory / jar.file_name for jar in DELTA_JARS]


def spark_provided_jars_present() -> list[str]:
    """List the Spark-shipped jar prefixes Delta needs that pyspark lacks (normally empty)."""
    import pyspark

    shipped = [p.name for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")]
    return [
        prefix
        for prefix in SPARK_PROVIDED_PREFIXES
        if not any(name.startswith(prefix) for name in shipped)
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``fetch`` the jars or print their ``path``."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.delta_jars",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download (or copy) the Delta jars into the cache")
    fetch.add_argument(
        "--dest", type=Path, default=None, help="cache directory (default .cache/jars)"
    )
    fetch.add_argument("--from-dir", type=Path, default=None, help="copy jars from this directory")
    path = sub.add_parser("path", help="print the cached jar paths, comma-separated")
    path.add_argument(
        "--dest", type=Path, default=None, help="cache directory (default .cache/jars)"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            paths = fetch_delta_jars(args.dest, from_dir=args.from_dir)
            lacking = spark_provided_jars_present()
            if lacking:
                print(
                    f"pyspark's jars/ lacks {lacking}; install the pinned pyspark.", file=sys.stderr
                )
                return 1
            print(f"Delta Lake {DELTA_VERSION} jars ready in {paths[0].parent}")
        else:
            print(",".join(str(p) for p in delta_jar_paths(args.dest)))
    except DeltaJarsMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
