"""Linli gateway: the HTTP/JSON API and the web pages, over the services' gRPC APIs."""
