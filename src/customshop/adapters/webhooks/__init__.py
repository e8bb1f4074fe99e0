"""``WebhookSender`` adapters: webhook requests over HTTP, to destinations checked before each one."""
