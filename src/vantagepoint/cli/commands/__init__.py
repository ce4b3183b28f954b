"""One module per `vantage` command (module name = command name); `_`-modules are helpers."""
