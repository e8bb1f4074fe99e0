"""Local stand-ins of third-party services, for integration tests."""
