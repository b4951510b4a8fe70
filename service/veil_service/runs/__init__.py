"""Runs: display names, versions, tables, configuration, jobs and results."""
