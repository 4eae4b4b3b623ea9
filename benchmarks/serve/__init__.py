"""The load benchmark of `autograms serve`: N concurrent clients x M turns with the real
openai SDK, streaming, against a loopback fake model that writes at a fixed token rate; SQLite
and PostgreSQL, 1, 2 and 4 workers. ``python -m benchmarks.serve`` (``make bench-serve``)."""
