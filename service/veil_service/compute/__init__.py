"""The server's side of the engine: engine processes, the task protocol, retries."""
