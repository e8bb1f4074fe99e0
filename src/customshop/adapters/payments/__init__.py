"""``PaymentGateway`` adapters: one module per payment provider."""
