"""The core vocabulary every other layer speaks: errors, secrets, money, catalogs, identifiers, the clave and
the hardened XML parser. Depends on nothing else in the package."""
