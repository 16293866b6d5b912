"""HTTP transport: one request/response core and one driver for sync and async callers (Hacienda, Chile)."""
