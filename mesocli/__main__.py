"""``python -m mesocli``."""

from mesocli.cli.app import main

if __name__ == "__main__":
    main()
