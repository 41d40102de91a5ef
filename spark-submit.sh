#!/usr/bin/env bash
# Submit a job to any Spark master with the project's packages, configuration and cached Delta jars.
#
#   ./spark-submit.sh [--master URL] [--deploy-mode client|cluster] [--conf k=v]... <job> [job flags]
#
#   ./spark-submit.sh run_all --start 2025-01-06 --end 2025-03-02 --privacy-level dp_medium
#   ./spark-submit.sh --master spark://10.0.0.5:7077 run_all --start ... --end ...
#   SPARK_MASTER=yarn ./spark-submit.sh --deploy-mode cluster session_daily --start ... --end ...
#
# Master: --master, else $SPARK_MASTER, else local[*]. Jobs: run_all, one per curated table (named
# like the table: README "Jobs", jobs/registry.py), maintenance, generate. `<job> --help` lists the
# job's flags.
# Ships: the project wheel (--py-files; $ANALYTICS_WHEEL, else built from this checkout) and the Delta
# jars (--jars) from $DELTA_JARS_DIR (default .cache/jars), so workers need no network. Executors need
# Python 3.11 with the project's dependencies (PYSPARK_PYTHON, or the jobs image; README "Deploy").
# Spark logs at WARN through conf/log4j2.properties; SPARK_LOG4J_CONFIG=<file> overrides it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
if [[ ! -x "$python" ]]; then
  echo "error: $python not found; run 'make setup' first or set PYTHON" >&2
  exit 2
fi

master="${SPARK_MASTER:-local[*]}"
submit_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --master) master="$2"; shift 2 ;;
    --master=*) master="${1#*=}"; shift ;;
    --deploy-mode|--conf|--driver-memory|--executor-memory|--executor-cores|--num-executors|--total-executor-cores|--queue|--name|--archives|--files)
      submit_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown spark-submit option '$1' (put job flags after the job name)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [[ $# -lt 1 ]]; then
  echo "error: no job given; see $0 --help" >&2
  exit 2
fi
job="$1"; shift
if ! jobs_list="$(cd "$here" && "$python" -c 'import sys; from jobs.entrypoint import RUNNABLE_JOBS as J; print(", ".join(J)); sys.exit(0 if sys.argv[1] in J else 2)' "$job")"; then
  echo "error: unknown job '$job'; job is one of: $jobs_list" >&2
  exit 2
fi

spark_home="$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
if [[ -z "${DELTA_JARS_DIR:-}" && -d "$here/.cache/jars" ]]; then
  export DELTA_JARS_DIR="$here/.cache/jars"
fi
jars="$("$python" -m jobs.delta_jars path)" || exit 2
entrypoint="$(cd "$here" && "$python" -c 'import jobs.entrypoint as e; print(e.__file__)')"

# The code the driver and executors import: the project wheel. An image sets ANALYTICS_WHEEL;
# in a checkout the wheel is rebuilt whenever the sources' digest differs from the last build's.
dist_dir="${ANALYTICS_DIST_DIR:-$here/.cache/dist}"
mkdir -p "$dist_dir"
# Runs started at once from one checkout (two tenants' cron entries, parallel tests) would
# otherwise delete and rebuild each other's wheel: one builds while the others wait.
exec {dist_lock}>"$dist_dir/.lock"
flock "$dist_lock"
wheel="${ANALYTICS_WHEEL:-}"
if [[ -z "$wheel" ]]; then
  digest="$(cd "$here" && find pyproject.toml contracts jobs privacy_udfs conf serving -type f \
    \( -name '*.py' -o -name '*.toml' -o -name '*.html' -o -name '*.js' -o -name '*.css' -o -name 'py.typed' \) \
    -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -d' ' -f1)"
  wheel="$(ls "$dist_dir"/privacy_learning_analytics-*.whl 2>/dev/null | head -n 1 || true)"
  if [[ -z "$wheel" || "$(cat "$dist_dir/wheel.sha1" 2>/dev/null)" != "$digest" ]]; then
    rm -f "$dist_dir"/privacy_learning_analytics-*.whl
    if ! build_log="$("$python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$dist_dir" "$here" 2>&1)"; then
      echo "error: could not build the project wheel:" >&2
      echo "$build_log" >&2
      exit 2
    fi
    wheel="$(ls "$dist_dir"/privacy_learning_analytics-*.whl | head -n 1)"
    echo "$digest" > "$dist_dir/wheel.sha1"
  fi
fi
# PySpark's --py-files imports .zip archives, and a pure-Python wheel is one: ship it by that name.
bundle="$dist_dir/analytics-packages.zip"
cp "$wheel" "$bundle.partial" && mv "$bundle.partial" "$bundle"
flock --unlock "$dist_lock"

# Spark logs at WARN (conf/log4j2.properties) so the job's step lines and summary stand out;
# SPARK_LOG4J_CONFIG=/path/to/log4j2.properties brings back whatever you prefer.
log4j_config="${SPARK_LOG4J_CONFIG:-$here/conf/log4j2.properties}"
export SPARK_LOG4J_CONFIG="$log4j_config"

export ANALYTICS_JARS_FROM_SUBMIT=1
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$python}"
export PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$python}"

# Settings the driver reads; in cluster deploy mode the driver runs remotely, so pass them on.
for var in ANALYTICS_ENV LOG_FORMAT DATA_ROOT DEFAULT_PRIVACY_LEVEL DP_EPSILON_BUDGET MIN_COHORT_SIZE ETL_BATCH_SIZE \
           ETL_RETENTION_DAYS PSEUDONYM_KEY_FILE PSEUDONYM_KEY_VERSION SPARK_SHUFFLE_PARTITIONS; do
  if [[ -n "${!var:-}" ]]; then
    submit_args+=(--conf "spark.yarn.appMasterEnv.$var=${!var}" --conf "spark.kubernetes.driverEnv.$var=${!var}")
  fi
done

exec "$spark_home/bin/spark-submit" \
  --master "$master" \
  --name "analytics-$job" \
  --jars "$jars" \
  --driver-java-options "-Dlog4j2.configurationFile=file:$log4j_config" \
  --py-files "$bundle" \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  ${submit_args[@]+"${submit_args[@]}"} \
  "$entrypoint" "$job" "$@"
