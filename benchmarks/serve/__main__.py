from benchmarks.serve.cli import main

main()
