"""The web console of the issuing service (``/console``): :mod:`~cr_einvoice.service.console.routes` (pages
and actions), :mod:`~cr_einvoice.service.console.sessions` (who signed in), ``templates/`` (Jinja2, Spanish)
and ``static/console.css``."""
