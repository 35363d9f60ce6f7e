#!/bin/sh
# The image's entry point: the first argument names the role; anything else runs as given
# (e.g. `python manage.py backup --out /backups/...`).
set -eu
cd /app
role=${1:-web}
[ $# -gt 0 ] && shift
case $role in
  web) exec gunicorn --config python:readerstudy.gunicorn_conf readerstudy.wsgi "$@" ;;
  migrate) exec python manage.py migrate --noinput "$@" ;;
  # -B: beat runs in this one worker and queues the precompute sweep (run exactly one such worker).
  worker) exec celery -A readerstudy worker -B -Q default --concurrency "${WORKER_CONCURRENCY:-2}" \
    -n "default@%h" --loglevel "${LOG_LEVEL:-info}" "$@" ;;
  # One per GPU, one task at a time: the model stays loaded (and compiled) in the process.
  gpu-worker) exec celery -A readerstudy worker -Q gpu --concurrency 1 \
    -n "gpu${GPU_INDEX:-0}@%h" --loglevel "${LOG_LEVEL:-info}" "$@" ;;
  health) exec python manage.py health "$@" ;;
  *) exec "$role" "$@" ;;
esac
