.PHONY: test lint catalogue

test:
	python3 -m pytest

lint:
	ruff check mesocli tests

catalogue:
	meso db build

