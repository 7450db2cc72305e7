"""The documentation's generated pages, written from the code so they cannot drift from it:

- the configuration reference, from the CLI's one option table (``mock_server.settings.OPTIONS``);
- the control API reference, from the mock's own OpenAPI document (``spec/control.yaml``).

``docs/hooks.py`` adds both to the MkDocs site at build time (``make docs``); tests/docs checks them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mock_server.contract import load_control_spec
from mock_server.settings import OPTIONS, Option

METHODS = ("get", "put", "post", "patch", "delete")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(option: Option) -> str:
    value = option.default()
    if option.kind == "switch":
        return "on" if value else "off"
    if value in (None, "", ()):
        return "—"
    return f"`{value}`"


def configuration_page() -> str:
    """Every option of ``serve`` (and of the commands that serve the mock), in ``--help`` order."""
    lines = [
        "# Configuration reference",
        "",
        "Every option of `flowdock-mock serve` — also taken by `run`, `converse`, `cluster` and",
        "`history export` — is a flag and an environment variable; a flag beats its variable, which",
        "beats the default. This page is generated from the CLI's own option table",
        "(`mock_server/settings.py`, `OPTIONS`), so it always says what `flowdock-mock --help` says.",
        "",
        "| flag | environment | default | what it does |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        if option.kind == "switch":
            flag = f"`--{option.flag}` / `--no-{option.flag}`"
        else:
            flag = f"`--{option.flag} {option.metavar}`"
        env = ", ".join(f"`{name}`" for name in option.env)
        lines.append(f"| {flag} | {env} | {_default(option)} | {_cell(option.help)} |")
    lines += [
        "",
        "Switches take `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` in their variable; a repeatable",
        "flag's variable holds its values separated by newlines or `:`. A bad value is one line on",
        "standard error and exit status 2.",
        "",
    ]
    return "\n".join(lines)


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` followed (repeatedly)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
    return node


def _parameters(doc: dict[str, Any], path_item: dict[str, Any], op: dict[str, Any]) -> list[str]:
    found = []
    for param in [*path_item.get("parameters", []), *op.get("parameters", [])]:
        param = resolve(doc, param)
        schema = resolve(doc, param.get("schema", {}))
        kind = schema.get("type", "")
        required = " (required)" if param.get("required") else ""
        found.append(f"`{param['name']}` in {param['in']}{required}{': ' + kind if kind else ''}")
    return found


def control_api_page() -> str:
    """Every operation of ``spec/control.yaml``, by tag, with its parameters and answers."""
    doc = load_control_spec()
    base = doc.get("servers", [{"url": "/_mock"}])[0]["url"]
    lines = [
        "# Control API reference",
        "",
        "The mock's own API, under `/_mock`, outside Flowdock's namespace. This page is generated from",
        "`spec/control.yaml`, the OpenAPI document the server binds and publishes at",
        "`/_mock/openapi.json` (Swagger UI: `/_mock/swagger/`), so it always matches what is served.",
        "",
    ]
    previous = ""
    for line in doc["info"]["description"].strip().splitlines():
        if line.startswith("- ") and previous and not previous.startswith(("- ", "  ")):
            lines.append("")  # Markdown needs a blank line before a list
        lines.append(line)
        previous = line
    lines.append("")
    by_tag: dict[str, list[str]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["Other"])[0]
            entry = [f"### `{method.upper()} {base}{path}`", ""]
            entry.append(f"`{op['operationId']}` — {_cell(op.get('summary') or '')}".rstrip(" —"))
            entry.append("")
            description = (op.get("description") or "").strip()
            if description:
                entry += [description, ""]
            params = _parameters(doc, item, op)
            if params:
                entry += ["Parameters: " + "; ".join(params) + ".", ""]
            if "requestBody" in op:
                body = resolve(doc, op["requestBody"])
                entry += ["Body: " + ", ".join(f"`{media}`" for media in body.get("content", {})) + ".", ""]
            answers = [
                f"{status} {_cell(resolve(doc, answer).get('description', ''))}"
                for status, answer in op.get("responses", {}).items()
            ]
            entry += ["Answers: " + "; ".join(answers), ""]
            by_tag.setdefault(tag, []).extend(entry)
    for tag in doc.get("tags", []):
        name = tag["name"]
        if name not in by_tag:
            continue
        lines += [f"## {name}", "", " ".join(tag.get("description", "").split()), "", *by_tag.pop(name)]
    for name, entries in by_tag.items():
        lines += [f"## {name}", "", *entries]
    return "\n".join(lines) + "\n"


def repository_page(path: Path) -> str:
    """A Markdown file of the repository as a page of the site: links into docs/ become page links,
    and a link to another file of the repository names the file (the site has no copy of it)."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("](docs/images/", "](images/")
    text = re.sub(r"\]\(docs/([a-z-]+\.md(?:#[^)]*)?)\)", r"](\1)", text)
    return re.sub(r"\[([^\]]+)\]\((?!https?:|#|images/|[a-z-]+\.md(?:#[^)]*)?\))[^)]+\)", r"\1", text)


def front_page(path: Path) -> str:
    """The README, the site's home page."""
    return repository_page(path)


PAGES = {
    "reference/configuration.md": configuration_page,
    "reference/control-api.md": control_api_page,
}
"""Generated page (its path in the site) -> what writes it."""
