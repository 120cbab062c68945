"""``python -m sessionmgr.cli``: the same as the ``sessionmgr`` command."""

from sessionmgr.cli.main import main

main()
