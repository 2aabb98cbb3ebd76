"""`python -m linli_rewards serve | migrate`."""

from linli_rewards.entrypoints.cli import main

main()
