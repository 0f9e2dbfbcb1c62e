"""`python -m omi`: the `omi` command, where the environment's scripts are not on PATH."""

from omi.launch import main

main()
