"""`python -m linli_identity serve | migrate | rotate-keys | token` (see entrypoints.cli)."""

from linli_identity.entrypoints.cli import main

main()
