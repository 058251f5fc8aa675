"""meso's core: plain data and pure functions, with no database session, CLI or printing."""
