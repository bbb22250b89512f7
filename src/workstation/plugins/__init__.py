"""Built-in panels, registered like third-party ones."""
