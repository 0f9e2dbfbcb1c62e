"""`omi plugins matrix`: many plugins x omi-openclaw releases x Pythons, each cell in its own
isolated environment, with regressions against a baseline and a quality grade per cell.

envs makes and caches the environments; cells runs one cell; run runs them all and reads and
writes the omi-matrix/1 document; render and html format it; grade computes the tiers (also for
`omi plugins check --grade`); probe is the script a cell's own Python runs to read the plugin's
installed metadata.
"""
