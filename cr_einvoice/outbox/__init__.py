"""Durable issuing: the store, the numbering pipeline shared by issuing and receiving, and the worker."""
