python scripts/example_data.py examples
seqconv train-all --dataset examples/sensor.toml --profile smoke
seqconv predict sensor --files examples/sensor_recent.csv
