"""``python -m cr_einvoice`` runs the command line."""

from cr_einvoice.app.cli import main

raise SystemExit(main())
