"""HTTP surface of the layer: the domain API, the webhook receivers, operations."""
