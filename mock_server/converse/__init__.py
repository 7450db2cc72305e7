"""Conversation tests: BotiumScript convo files played against a bot connected to the mock.

``script.py`` reads ``*.convo.txt`` and ``*.utterances.txt`` into runs (the standard library
only: the CLI and the pytest plugin read files with it before sending them); ``player.py`` plays
a run in one world (the kit's inject and waits); ``session.py`` is ``POST /_mock/converse``;
``report.py`` renders a verdict as people read it. ``flowdock-mock converse`` is in the CLI.
"""
