"""`python -m linli_identity serve | migrate | rotate-keys --community C | token --community C --phone P`."""

from linli_identity.entrypoints.cli import main

main()
