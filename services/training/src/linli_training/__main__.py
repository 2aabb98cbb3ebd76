"""`python -m linli_training serve | migrate`."""

from linli_training.entrypoints.cli import main

main()
