python scripts/example_data.py examples
seqconv train-all --dataset examples/tickets.toml --profile smoke
seqconv predict tickets --csv examples/tickets_new.csv
