"""Persistence: Tortoise models (one app per domain), migrations, row locks and loaders."""
