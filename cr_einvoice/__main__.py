"""``python -m cr_einvoice`` runs the command line."""

from .cli import main

raise SystemExit(main())
