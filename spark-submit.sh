#!/usr/bin/env bash
# Submit a job to any Spark master with the project's packages, configuration and cached Delta jars.
#
#   ./spark-submit.sh [--master URL] [--deploy-mode client|cluster] [--conf k=v]... <job> [job flags]
#
#   ./spark-submit.sh run_all --start 2025-01-06 --end 2025-03-02 --privacy-level dp_medium
#   ./spark-submit.sh --master spark://10.0.0.5:7077 run_all --start ... --end ...
#   SPARK_MASTER=yarn ./spark-submit.sh --deploy-mode cluster session_daily --start ... --end ...
#
# Master: --master, else $SPARK_MASTER, else local[*]. Jobs: run_all, session_daily, mastery_progress,
# weekly_active, iep_progress, course_metrics, platform_daily, public_metrics, learner_snapshots,
# maintenance, generate. `<job> --help` lists the job's flags.
# Ships: the jobs/privacy_udfs/conf packages as a zip (--py-files) and the Delta jars (--jars) from
# .cache/jars (or $DELTA_JARS_DIR), so workers need no network. Executors need Python 3.11 with the
# project's dependencies (PYSPARK_PYTHON; see README "Operations").
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
jars="$("$python" -m jobs.delta_jars path)" || exit 2

# Package the code the driver and executors import, fresh for every submission.
dist_dir="$here/.cache/dist"
mkdir -p "$dist_dir"
bundle="$dist_dir/analytics-packages.zip"
"$python" - "$here" "$bundle" <<'PY'
import sys, zipfile
from pathlib import Path
root, target = Path(sys.argv[1]), Path(sys.argv[2])
partial = target.with_suffix(".partial")
with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
    for package in ("jobs", "privacy_udfs", "conf"):
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".toml"}:
                archive.write(path, path.relative_to(root).as_posix())
partial.replace(target)
PY

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
  "$here/jobs/entrypoint.py" "$job" "$@"
