"""Differentially private queries: datasets, grants, budgets, the query archive."""
