"""`python -m linli_identity serve | migrate`."""

from linli_identity.entrypoints.cli import main

main()
