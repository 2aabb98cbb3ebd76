"""`python -m linli_points serve | migrate`."""

from linli_points.entrypoints.cli import main

main()
