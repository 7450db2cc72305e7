"""The hostile corpus through every option of ``flowdock-mock serve``, as flag and as variable.

Every value must give either settings or a ``UsageError`` (one clear line, exit 2), never a
traceback: the option parsing, the fixtures loader and the socket binding are all exercised.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from typing import Any

import pytest

from mock_server.cli import parse_args
from mock_server.launch import bind_socket, load_world
from mock_server.settings import OPTIONS, Settings, UsageError, settings_from_args
from tests.hostile.corpus import Dealer

FLAGS = [option.flag for option in OPTIONS if option.kind != "switch"]


def _settle(argv: list[str]) -> Settings | None:
    try:
        settings = settings_from_args(parse_args(argv))
    except UsageError:
        return None
    if settings.fixtures:
        with contextlib.suppress(UsageError):
            load_world(settings)
    if settings.host != "127.0.0.1":
        with contextlib.suppress(UsageError):
            bind_socket(settings.host, 0).close()
    return settings


@pytest.mark.parametrize("flag", FLAGS)
def test_serve_option__hostile_value_is_a_setting_or_a_usage_error(
    flag: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)  # a fixtures "path" from the corpus must not find a real file
    for name in [n for option in OPTIONS for n in option.env]:
        monkeypatch.delenv(name, raising=False)
    env_name = next(option.env for option in OPTIONS if option.flag == flag)[0]
    for text in Dealer(zlib.crc32(flag.encode()), 12).deal():
        _settle([f"--{flag}={text}"])
        if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            continue  # an environment variable cannot hold these
        monkeypatch.setenv(env_name, text)
        _settle([])
        monkeypatch.delenv(env_name)
    assert os.environ.get(env_name) is None
