"""Tortoise models, one module per concept; each domain is a Tortoise app with its own migrations."""
