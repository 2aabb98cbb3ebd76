"""`python -m linli_gateway serve`."""

from linli_gateway.entrypoints.cli import main

main()
