"""``python -m midivae``: the command-line tool."""

from midivae.cli.main import main

if __name__ == "__main__":
    main()
