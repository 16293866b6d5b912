"""The v4.4 documents: model, totals, XML write/read, JSON input format, business rules, schemas,
validation."""
