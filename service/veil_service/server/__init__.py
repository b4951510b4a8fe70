"""The gRPC server: wiring, interceptor, handlers, lifecycle."""
