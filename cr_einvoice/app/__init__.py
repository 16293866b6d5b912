"""The application layer: configuration, the typed Runtime, the command line and the demo."""
