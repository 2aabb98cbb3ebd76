"""`python -m linli_identity serve | migrate | rotate-keys --community C`."""

from linli_identity.entrypoints.cli import main

main()
