from benchmarks.stores.cli import main

main()
