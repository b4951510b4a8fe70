"""Accounts: users, API keys, sessions, password resets, audit."""
