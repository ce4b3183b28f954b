"""Running a user's experiment in isolation: layer cache, bubblewrap, network, limits.

Shared by the ``experiment`` tool (which runs the sandbox) and the agent (which
fetches and unpacks layers ahead of time).
"""
