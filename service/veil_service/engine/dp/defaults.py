"""Dummy-dataset defaults and limits, in a module light enough for the server to import.

The server validates requests against these without loading pandas (kept out of its process to
keep its memory flat); ``dummy.py`` builds the datasets in the engine.
"""

DEFAULT_NB_ROWS = 100
DEFAULT_SEED = 42
MAX_NB_ROWS = 1_000_000
