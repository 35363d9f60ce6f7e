"""The AI side: preprocessing, model zoo, training, Grad-CAM and the predictor (framework-free core),
plus a thin Django/Celery adapter (models, tasks, services, management commands)."""
