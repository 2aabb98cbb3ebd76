"""`python -m linli_partners serve | migrate`."""

from linli_partners.entrypoints.cli import main

main()
