"""The command line's history parts: ``serve --history``/``--history-users`` and ``history export``.

``with_archives`` adds the exports ``--history`` names to the world ``serve`` is about to build
(every archive read and checked first: one broken archive stops the start with a line naming it
and the record, and nothing is served); ``banner_lines`` lists each loaded flow and its users'
credentials; ``flowdock-mock history export`` (mock_server/cli/history.py) writes a flow as an export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.history import Loaded
    from mock_server.store import Store

BANNER_USERS = 10
"""History users the banner lists per flow; all of them are in GET /_mock/worlds/default."""


def with_archives(
    doc: dict[str, Any], values: list[str], users_file: str | None
) -> tuple[dict[str, Any], list[Loaded]]:
    """``doc`` with every archive of ``values`` (``ORG/FLOW=PATH``, ``FLOW=PATH``, ``PATH``)."""
    from mock_server.history import ArchiveError, gc_paused, load_history, parse_source, read_users
    from mock_server.settings import UsageError
    from mock_server.world.documents import document_problems, representation_problems, schema_valid

    with gc_paused():  # the export becomes objects, none of them in a cycle (gc_paused says why)
        try:
            users = read_users(users_file) if users_file else None
            merged, loaded = load_history(doc, [parse_source(value) for value in values], users)
        except ArchiveError as exc:
            raise UsageError(f"{exc}; nothing was loaded") from None
        # Every value representable and the schema met (compiled checks, fast). Uniqueness and
        # references hold by construction: the exports' records were checked as they were read,
        # their users, threads and flows made from them, and merge.py refuses what clashes with
        # the world; the rest of the world was checked as it was read (--fixtures) or is the
        # mock's own. The full walk (document_problems) runs only to word a failure.
        problems = representation_problems(merged)
        if not problems and not schema_valid(merged):
            problems = document_problems(merged)
    if problems:
        lines = [f"  {where}: {text}" for where, texts in list(problems.items())[:10] for text in texts]
        raise UsageError(
            "the world with the history archives is not a valid world document:\n" + "\n".join(lines)
        )
    return merged, loaded


def banner_lines(loaded: list[Loaded], store: Store) -> list[str]:
    """Each loaded flow, then its users' email, password and API token (the first few)."""
    lines: list[str] = []
    users = store.users.by_id
    for entry in loaded:
        missing = f", {len(entry.missing_files)} missing" if entry.missing_files else ""
        lines.append(
            f"  history {entry.organization}/{entry.flow} from {entry.archive}: {entry.messages:,} messages, "
            f"{entry.threads:,} threads, {entry.files} files{missing}, {len(entry.users)} users"
        )
        for user_id in entry.users[:BANNER_USERS]:
            user = users.get(user_id)
            if user is not None:
                lines.append(
                    f"    {user.name}: {user.email} / password {user.password}, API token {user.api_token}"
                )
        if len(entry.users) > BANNER_USERS:
            lines.append(f"    ... and {len(entry.users) - BANNER_USERS} more: GET /_mock/worlds/default")
    return lines
