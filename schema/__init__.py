"""Strawberry types: declarations only. The assembled schema lives in ``schema.root``."""
