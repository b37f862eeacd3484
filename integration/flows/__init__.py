"""The order-to-cash flows of DESIGN.md: onboarding, subscriptions and usage, month end,
payments — each a set of idempotent steps over the adapters and the layer's own records."""
