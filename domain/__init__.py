"""Business rules. Imports no web, GraphQL or provider SDK code (tests/test_layering.py)."""
