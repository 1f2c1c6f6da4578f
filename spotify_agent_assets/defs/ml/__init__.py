"""What model training shares: the MLflow tracking store."""
