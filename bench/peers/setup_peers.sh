#!/usr/bin/env bash
# Install the peer DP libraries of bench/bench_toolkit.py, each in its own virtualenv
# under bench/.venvs/ (git-ignored), so their pins never touch the project's .venv:
#   pipelinedp: PipelineDP 0.3.1 (Spark RDD backend) with the project's pyspark 4.0.1;
#   tumult:     Tumult Analytics 0.21.0, which on Python 3.11 needs pyspark 3.5, pandas 1.x
#               and numpy 1.x (Java 17 runs both Spark versions).
# Idempotent: an existing venv whose import check passes is left alone.
# Usage: bash bench/peers/setup_peers.sh [python3.11]
set -euo pipefail

PYTHON="${1:-python3.11}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="$ROOT/.venvs"
mkdir -p "$VENVS"

install() {  # name, import check, pip requirements...
    local name="$1" check="$2"
    shift 2
    local venv="$VENVS/$name"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
        echo "$name: already installed ($venv)"
        return
    fi
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    "$venv/bin/python" -c "$check"
    echo "$name: installed ($venv)"
}

install pipelinedp "import pipeline_dp, pyspark" \
    "pipeline-dp==0.3.1" "pyspark==4.0.1" "pyarrow==21.0.0" "pandas==2.3.3"
install tumult "import tmlt.analytics, pyspark; assert pyspark.__version__.startswith('3.5')" \
    "tmlt.analytics==0.21.0" "pyspark[sql]==3.5.7"
