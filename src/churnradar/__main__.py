"""`python -m churnradar` runs the console command."""

from churnradar.cli.main import run

run()
