"""HTTP surface around the GraphQL endpoint: auth cookies, Google sign-in, health, errors."""
