"""``python -m mock_server`` is ``flowdock-mock``."""

from mock_server.cli import main

raise SystemExit(main())
