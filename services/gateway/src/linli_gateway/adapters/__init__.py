"""The services' gRPC clients (asyncio channels over mutual TLS)."""
