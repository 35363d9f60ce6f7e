"""The AI core's Django/Celery adapter (app label "inference"): model versions, predictions and
precompute jobs, their tasks, services, API and commands. Only GPU task bodies load torch."""
