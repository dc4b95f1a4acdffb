"""`python -m crunch_xl` runs the command line."""

from crunch_xl.cli import run

run()
