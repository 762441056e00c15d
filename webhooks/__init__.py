"""Inbound provider webhooks: verify, dedupe, dispatch to the domain, answer 2xx fast."""
