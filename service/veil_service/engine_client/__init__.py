"""The server's client of the engine: engine processes, the task protocol, retries."""
