"""The HAProxy configuration of a cluster: every request to the shard its credential names.

A shard (``flowdock-mock serve --shard NAME``) gives every world it creates an id, and every
credential of such a world, that starts with ``NAME.`` (store/keys.py). This configuration finds
the credential where the mock itself looks for it (middleware/worlds.py), in the same order, and
sends the request to the shard whose prefix it carries:

1. on ``/_mock/...``: the world id of ``/_mock/worlds/{id}``, the download token of
   ``/_mock/files/{token}``, else the ``world`` query parameter (the Kit's routes);
2. elsewhere: ``Authorization: Basic`` (the username, decoded with ``b64dec``: an API token, an
   email or an OAuth client id) or ``Bearer``; ``?access_token=``; the Push API's path token;
   ``?flow_token=``; ``?client_id=``;
3. only when none is there, on the three writes whose credential may travel in the body
   (``POST /messages``, ``PUT /sources``: ``flow_token``; ``POST /oauth/token``: ``client_id``,
   ``code``, ``refresh_token``, a password grant's ``username``): the body, JSON, form or
   multipart, waited for (``wait-for-body``).

A request with no shard's credential goes to the first shard, which owns the default world;
``POST /_mock/worlds`` is spread round-robin over the shards that are up, and ``GET
/_mock/worlds`` goes to the aggregator, which lists every shard's worlds (aggregate.py).
Responses are never buffered, so streams flow through; stream routes get a long server timeout.

The same function writes the configuration of ``flowdock-mock cluster`` (loopback ports) and of
the Kubernetes router (deploy/kubernetes/: pod DNS names, re-resolved through ``resolvers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mock_server.store.keys import shard_prefix, shard_problem

__all__ = ["STREAM_TIMEOUT", "Shard", "haproxy_config", "parse_shards"]

STREAM_TIMEOUT = "24h"
"""How long a stream route may stay quiet on the server side (keep-alives come every 30 s)."""
REQUEST_TIMEOUT = "5m"
"""Every other request: the longest control call (a 60 s wait, a large PUT /_mock/state) fits."""

BODY_ROUTES = (
    ("body_message", "POST", "/messages", ("flow_token",)),
    ("body_source", "PUT", "/sources", ("flow_token",)),
    ("body_oauth", "POST", "/oauth/token", ("client_id", "code", "refresh_token", "username")),
)
"""The writes whose credential may be in the body, and its fields in the order the mock tries
them (middleware/worlds.py's ``BODY_CREDENTIALS``; tests/cluster checks they agree)."""


def _multipart_field(name: str) -> str:
    """A sample: the value of the multipart part ``name`` (a non-matching body comes back whole,
    and starts with its boundary's ``--``: no shard's prefix)."""
    part = f'name=\\"{name}\\"[^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([^\\r\\n]*)\\r\\n'
    return f"\"req.body,regsub('(?s)^.*?{part}.*','\\\\1')\""


@dataclass(frozen=True, slots=True)
class Shard:
    """One mock process: its shard name and where HAProxy reaches it (``host:port``)."""

    name: str
    address: str

    def __post_init__(self) -> None:
        problem = shard_problem(self.name)
        if problem is not None:
            raise ValueError(f"shard name {self.name!r}: {problem}")
        host, colon, port = self.address.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"shard {self.name}: address {self.address!r} is not HOST:PORT")
        if any(c.isspace() or c in "#'\"\\" for c in self.address):
            raise ValueError(
                f"shard {self.name}: address {self.address!r} has a character HAProxy would misread"
            )


def parse_shards(text: str) -> list[Shard]:
    """``NAME=HOST:PORT,NAME=HOST:PORT`` (distinct names, at least one)."""
    shards = []
    for item in text.split(","):
        name, equals, address = item.strip().partition("=")
        if not equals:
            raise ValueError(f"{item.strip()!r}: expected NAME=HOST:PORT")
        shards.append(Shard(name.strip(), address.strip()))
    names = [s.name for s in shards]
    if len(set(names)) != len(names):
        raise ValueError(f"shard names repeat: {', '.join(names)}")
    return shards


def haproxy_config(
    shards: Sequence[Shard],
    *,
    bind: str,
    aggregator: str,
    resolvers: bool = False,
    header: str = "",
) -> str:
    """The whole ``haproxy.cfg``: listen on ``bind`` (``HOST:PORT``), route to ``shards`` (the
    first owns the default world), ``GET /_mock/worlds`` to ``aggregator`` (``HOST:PORT``).

    ``resolvers``: the addresses are DNS names that may change (Kubernetes pods): HAProxy
    resolves them through the system's name servers at run time and starts even while they do
    not resolve yet. ``header``: comment lines put first (how the file was generated)."""
    if not shards:
        raise ValueError("a cluster needs at least one shard")
    Shard("aggregator", aggregator)  # the same address check
    dns = " resolvers system init-addr none" if resolvers else ""
    check = "check inter 1s fall 2 rise 1" + dns
    lines = [*(f"# {line}".rstrip() for line in header.splitlines())]
    lines += [
        "# Generated by flowdock-mock (mock_server/cluster/haproxy.py); regenerate, do not edit.",
        "global",
        "    maxconn 4096",
        "    # a body credential (POST /messages, PUT /sources, POST /oauth/token) is read from the",
        "    # first 64 KiB of the body",
        "    tune.bufsize 65536",
        "",
    ]
    if resolvers:
        lines += [
            "resolvers system",
            "    parse-resolv-conf",
            "    hold valid 5s",
            "    hold obsolete 5s",
            "",
        ]
    lines += [
        "defaults",
        "    mode http",
        "    option http-no-delay",  # stream events leave at once, never held for a fuller packet
        "    timeout connect 5s",
        "    timeout http-request 30s",
        "    timeout http-keep-alive 60s",
        "    timeout queue 30s",
        f"    timeout client {STREAM_TIMEOUT}",  # a stream's client sends nothing for hours
        f"    timeout server {REQUEST_TIMEOUT}",
        "    timeout client-fin 5s",
        "    timeout server-fin 5s",
        "",
        "frontend flowdock",
        f"    bind {bind}",
        "    acl control path_beg /_mock/",
        "    acl found var(txn.cred) -m found",
        "    acl basic req.fhdr(authorization) -m beg -i basic\\ ",
        "    acl bearer req.fhdr(authorization) -m beg -i bearer\\ ",
        "    acl stream path /stream",
        "    acl stream path_beg /stream/",
        "    acl stream hdr_beg(host) -i stream.",
        "    acl stream path_end /requests/feed",
        "    acl stream req.hdr(accept) -m sub -i text/event-stream",
        "    http-request set-var(txn.stream) bool(true) if stream",
        "    # 1. the control API names its world in the path (or ?world=), or a download token",
        "    http-request set-var(txn.cred) path,field(4,/) if { path_beg /_mock/worlds/ /_mock/files/ }",
        "    http-request set-var(txn.cred) url_param(world),url_dec if control !found",
        "    # 2. where a client sends its credential (middleware/worlds.py)",
        "    http-request set-var(txn.cred) req.fhdr(authorization),word(2,' '),b64dec if !control basic",
        "    http-request set-var(txn.cred) req.fhdr(authorization),word(2,' ') if !control bearer",
        "    http-request set-var(txn.cred) url_param(access_token),url_dec if !control !found",
        "    http-request set-var(txn.cred) path,field(4,/),url_dec if !found { path_beg /messages/chat/ /messages/team_inbox/ }",
        "    http-request set-var(txn.cred) url_param(flow_token),url_dec if !control !found",
        "    http-request set-var(txn.cred) url_param(client_id),url_dec if !control !found",
        "    # 3. the writes whose credential may be in the body, JSON, form or multipart",
        "    acl multipart req.hdr(content-type) -m beg -i multipart/form-data",
    ]
    for acl, method, path, _ in BODY_ROUTES:
        lines.append(f"    acl {acl} method {method} path {path}")
    for acl, _, _, fields in BODY_ROUTES:
        lines.append(f"    http-request wait-for-body time 10s if {acl} !found")
        for name in fields:
            lines += [
                f"    http-request set-var(txn.cred) req.body,json_query('$.{name}') if {acl} !found",
                f"    http-request set-var(txn.cred) req.body_param({name}),url_dec if {acl} !found !multipart",
                f"    http-request set-var(txn.cred) {_multipart_field(name)} if {acl} !found multipart",
            ]
    lines += [
        "    use_backend aggregate if { method GET HEAD } { path /_mock/worlds }",
    ]
    for shard in shards:
        lines.append(
            f"    use_backend shard_{shard.name} if {{ var(txn.cred) -m beg {shard_prefix(shard.name)} }}"
        )
    lines += [
        "    use_backend spread if { method POST } { path /_mock/worlds }",
        f"    default_backend shard_{shards[0].name}",
        "",
    ]
    for shard in shards:
        lines += [
            f"backend shard_{shard.name}",
            "    option httpchk GET /_mock/health",
            f"    http-request set-timeout server {STREAM_TIMEOUT} if {{ var(txn.stream) -m bool }}",
            f"    server {shard.name} {shard.address} {check}",
            "",
        ]
    lines += [
        "backend spread",
        "    balance roundrobin",
        "    option httpchk GET /_mock/health",
        "    option redispatch",  # a refused connection sent nothing: another shard creates the world
        "    retries 2",
        *(f"    server {shard.name} {shard.address} {check}" for shard in shards),
        "",
        "backend aggregate",
        f"    server aggregator {aggregator}",
        "",
    ]
    return "\n".join(lines)
