"""The `vantage` command: one module per command in `vantagepoint.cli.commands`."""
