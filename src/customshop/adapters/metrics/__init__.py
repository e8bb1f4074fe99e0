"""Metrics backends: Prometheus (``prometheus.py``)."""
