"""tern's benchmarks, run by tools/bench.py (`make bench`).

One module per kind of measure (boot, disk, hotplug, walk, sizes, make_test), each a function
`f(ctx, firmware)` that returns one number, or a dict of numbers when the measure yields several
rows; `report` turns the rows into results.json and results.md, `chart` into results.png.
"""
