"""Fixtures that ship with the package for tests, examples and the demo: example vouchers, the test PKI and
the Chilean providers' fake servers. Never used by the production paths."""
