"""`python -m linli_attendance serve | migrate`."""

from linli_attendance.entrypoints.cli import main

main()
