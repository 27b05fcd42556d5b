"""Newsroom's benchmarks (`make bench`, `bench/run.py`): one module per benchmark, and
`bench/lib/`, what they share. `bench.bench_settings` is the settings module gunicorn serves."""
