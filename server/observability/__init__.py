"""Operations: metrics for Prometheus, structured logs, request ids."""
