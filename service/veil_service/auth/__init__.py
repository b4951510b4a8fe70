"""Authentication and authorization: credentials, principals, rules."""
