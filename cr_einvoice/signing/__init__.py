"""Certificates (.p12) and the XAdES-EPES signer and verifier."""
