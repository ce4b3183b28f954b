"""``run_agent``: run one agent in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

from vantagepoint import redact
from vantagepoint.agent.loop import Agent
from vantagepoint.config import AgentSettings

log = logging.getLogger(__name__)


def run_agent(settings: AgentSettings) -> None:
    """Run an agent (blocking); return after a clean stop on SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    redact.install(redact.settings_secrets(settings))
    agent = Agent(settings)
    with _stop_on_signals(agent):
        try:
            agent.run()
        except KeyboardInterrupt:  # a handler installed by someone else raised it
            log.info("interrupted")


@contextlib.contextmanager
def _stop_on_signals(agent: Agent) -> Iterator[None]:
    """Turn SIGTERM and SIGINT into ``agent.stop()`` while the agent runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; the caller stops the agent
        return

    def handler(signum: int, _frame) -> None:
        log.info("%s received; stopping", signal.Signals(signum).name)
        agent.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
