"""The gRPC edge: servicers (thin) and protobuf conversions. Protobufs stop here."""
