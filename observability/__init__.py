"""Metrics, structured logs and optional tracing: how the service reports on itself."""
