"""Adapters behind domain ports: provider SDK/httpx clients and the event bus backends."""
