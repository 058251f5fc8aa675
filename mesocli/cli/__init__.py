"""meso's command line: thin typer commands that translate options into calls to the core."""
