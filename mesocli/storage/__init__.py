"""The catalogue's storage: source text, SQLAlchemy models, migrations and loading."""
