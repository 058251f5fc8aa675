"""Presentation: JSON documents (json module only), and rich output for people (lazily)."""
