#!/bin/sh
# Entrypoint of the jobs image.
#   <job> [flags]       spark-submit.sh <job> ... (run_all, maintenance, generate, ...; --help lists them)
#   driver ... / executor
#                       what Spark on Kubernetes runs in driver and executor pods of this image
set -eu
case "${1:-}" in
  executor)
    shift
    # Spark passes the executor's settings as environment variables (Spark's own image does the same).
    # shellcheck disable=SC2086  # SPARK_EXECUTOR_JAVA_OPTS is a list of options
    exec java ${SPARK_EXECUTOR_JAVA_OPTS:-} -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \
      -cp "${SPARK_HOME}/jars/*:${DELTA_JARS_DIR}/*" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "${SPARK_DRIVER_URL}" --executor-id "${SPARK_EXECUTOR_ID}" \
      --cores "${SPARK_EXECUTOR_CORES}" --app-id "${SPARK_APPLICATION_ID}" \
      --hostname "${SPARK_EXECUTOR_POD_IP}" --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME}"
    ;;
  driver)
    shift
    # Cluster deploy mode: the driver pod runs the submission in client mode.
    exec "${SPARK_HOME}/bin/spark-submit" --deploy-mode client \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:-0.0.0.0}" "$@"
    ;;
  *)
    exec /opt/analytics/spark-submit.sh "$@"
    ;;
esac
