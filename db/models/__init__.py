"""Tortoise models, one module per concept.

Each domain is a Tortoise app with its own migrations (see ``db.config.APPS``).
"""
