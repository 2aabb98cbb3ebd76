"""`python -m linli_identity serve | migrate | rotate-keys | token | bootstrap-community`."""

from linli_identity.entrypoints.cli import main

main()
