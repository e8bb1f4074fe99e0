"""Job queues: rq on Redis (production) and an in-process runner (the embedded default)."""
