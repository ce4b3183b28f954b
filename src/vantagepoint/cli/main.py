"""The `vantage` command: a Typer app with one module per command."""

import typer

from vantagepoint.cli.commands import (
    agent,
    alarms,
    archivers,
    audit,
    calendar,
    core,
    demo,
    executions,
    export,
    files,
    layer,
    logs,
    metadata,
    node,
    node_status,
    node_token,
    nodes,
    quota,
    results,
    retention,
    run,
    schedule,
    schedules,
    study,
    submit,
    testbed,
    tokens,
    tools,
    unschedule,
    up,
    users,
    validate,
    watch,
)
from vantagepoint.cli.commands import stats as stats_command

COMMANDS = (up, demo, core, agent, submit, validate, run, schedule, schedules, unschedule,
            calendar, executions, results, logs, nodes, node_status, tools, quota, users,
            tokens, node_token, testbed)
COMMANDS += (alarms, watch)
COMMANDS += (layer, files)  # sandboxed experiments
COMMANDS += (metadata, node)
COMMANDS += (study,)
COMMANDS += (stats_command, export)  # analysis and export (issue 6)
COMMANDS += (archivers, audit, retention)  # production (issue 8)

app = typer.Typer(
    name="vantage",
    help="vantagepoint: a programmable network measurement testbed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
for command in COMMANDS:
    command.register(app)


def main() -> None:
    """Entry point of the `vantage` console script."""
    app()


if __name__ == "__main__":
    main()
