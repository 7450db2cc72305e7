"""``python -m mock_server.world --write PATH`` (``make fixtures``): run the generator."""

from mock_server.world.generator import main

raise SystemExit(main())
