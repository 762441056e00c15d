"""Thin resolvers: decode input, call one domain function, map the result to a schema type."""
