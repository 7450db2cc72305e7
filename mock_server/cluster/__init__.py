"""Worlds sharded over several mock processes behind HAProxy (``flowdock-mock cluster``).

``haproxy.py`` writes the proxy's configuration (the same code for ``flowdock-mock cluster`` and
the Kubernetes router, deploy/kubernetes/), ``aggregate.py`` answers ``GET /_mock/worlds`` for
every shard, ``supervisor.py`` starts and watches the processes, ``command.py`` is the command.
docs/scaling-worlds.md says how it fits together.
"""
