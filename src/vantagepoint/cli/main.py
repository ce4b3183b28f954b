"""The `vantage` command: a Typer app with one module per command."""

import typer

from vantagepoint.cli.commands import (
    agent,
    archivers,
    calendar,
    core,
    demo,
    executions,
    logs,
    node_status,
    node_token,
    nodes,
    quota,
    results,
    run,
    schedule,
    schedules,
    submit,
    testbed,
    tokens,
    tools,
    unschedule,
    up,
    users,
    validate,
)

COMMANDS = (up, demo, core, agent, submit, validate, run, schedule, schedules, unschedule,
            calendar, executions, results, logs, nodes, node_status, tools, quota, users,
            tokens, node_token, testbed)
COMMANDS += (archivers,)  # production (issue 8)

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
