"""`python -m ganinv`: the `ganinv` command."""

from ganinv.cli.main import cli

if __name__ == "__main__":
    cli(prog_name="ganinv")
