"""`python -m mftrack` runs the same CLI as the `mftrack` console script."""

from mftrack.cli import main

main()
