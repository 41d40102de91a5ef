"""Packaging for the privacy-preserving learning analytics project.

Installs four import packages: ``jobs`` (Spark batch ETL), ``privacy_udfs``
(the privacy engine), ``serving`` (the Flask API) and ``conf`` (settings and
per-job bounds). Versions are pinned to a set that is known to work together:
pyspark 4.0.1 with delta-spark 4.0.1 (Delta Lake's compatibility table pairs
Delta 4.0.x with Spark 4.0.x), pandas 2.3 (pyspark 4.0 predates pandas 3).
"""

from __future__ import annotations

from setuptools import find_packages, setup

SPARK_VERSION = "4.0.1"
DELTA_VERSION = "4.0.1"

setup(
    name="privacy-learning-analytics",
    version="0.1.0",
    description=(
        "Privacy-preserving learning analytics on Apache Spark: keyed pseudonyms, "
        "contribution bounding, Laplace noise, k-suppression, curated Delta tables "
        "and a guarded Flask API."
    ),
    python_requires=">=3.11",
    packages=find_packages(include=["jobs*", "privacy_udfs*", "serving*", "conf*"]),
    package_data={"conf": ["*.toml"], "serving": ["static/**/*", "templates/*"]},  # pages: issue 8
    include_package_data=True,
    install_requires=[
        f"pyspark=={SPARK_VERSION}",
        f"delta-spark=={DELTA_VERSION}",
        "deltalake==1.6.6",
        "numpy>=2.1,<2.5",
        "pyarrow==21.0.0",
        "pandas==2.3.3",
        "pydantic==2.14.3",
        "pydantic-settings==2.16.3",
        "flask==3.1.3",
        "flask-openapi3==4.3.2",
        "flask-openapi3-swagger==5.31.0",
        "flask-limiter==4.1.1",
        "pyjwt==2.15.1",
        "gunicorn==25.3.0",
        "redis==8.1.0",  # shared rate-limit storage (RATE_LIMIT_STORAGE_URI=redis://...)
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "chispa==0.12.0",
            "hypothesis==6.170.15",
            "scipy>=1.14,<2",
            "schemathesis==4.32.5",
            "requests>=2.32,<3",
            "nbclient==0.11.0",
            "nbformat==5.11.1",
            "ipykernel==7.4.0",
            "matplotlib==3.11.2",
            "polars==2.1.0",
            "selenium==4.40.0",
        ],
        "notebook": [
            "jupyterlab==4.6.6",
        ],
        "bench": [
            "opendp==0.16.0",
            "psutil>=6,<8",
        ],
        "dev": [
            "ruff==0.17.6",
            "mypy==2.4.1",
            "pandas-stubs==2.3.3.260113",
        ],
    },
)
