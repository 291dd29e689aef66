"""`make bench`: how fast Countersign is, each figure beside its baseline (docs/performance.md).

`bench.harness.FIGURES` is the table of figures; `bench.runner` runs it against the stack of
`bench.stack`. A figure module under `bench/` offers `measure(stack) -> {figure name: Reading}`.
"""
