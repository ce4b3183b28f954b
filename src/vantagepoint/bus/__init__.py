"""The node's metadata bus: a ZeroMQ PUB carrying ``<topic> <json>`` frames.

``message`` holds the frame format and the topic names (as the existing testbed
has them), ``publisher`` the agent's side, ``subscriber`` the small helper
tools and experiments use (it needs only pyzmq, so a plain script may copy it).
"""
