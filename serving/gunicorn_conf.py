"""gunicorn settings of ``make serve`` (``gunicorn -c serving/gunicorn_conf.py 'serving.app:create_app()'``).

Every value can be overridden by an environment variable, read here:

- ``BIND`` (default ``127.0.0.1:${PORT:-8001}``): loopback only unless told
  otherwise; put a reverse proxy in front for anything public (see
  docs/operations.md) and set ``TRUSTED_PROXY_HOPS`` for it.
- ``WEB_CONCURRENCY`` (2) worker processes × ``GUNICORN_THREADS`` (8) threads.
- ``REQUEST_HEADER_TIMEOUT`` (10 s) total time to send a request head,
  ``REQUEST_IO_TIMEOUT`` (60 s) per socket operation afterwards (read by the worker).

Logs are JSON lines on stderr/stdout; the access log names route templates,
never paths or query strings.
"""

from __future__ import annotations

import os

bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8001')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "serving.gunicorn_worker.HeaderTimeoutThreadWorker"
timeout = 60  # a worker silent this long (hung) is restarted
graceful_timeout = 20
keepalive = 5
# Request head limits: gunicorn answers 400 itself past these.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "serving.gunicorn_logging.RedactingLogger"
# No control socket in $HOME: several instances (and tests) would share one path.
control_socket_disable = True
