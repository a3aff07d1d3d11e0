"""Serving: the consumer queries over the predictions, and Prometheus metrics read from the warehouse."""
