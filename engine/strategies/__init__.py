"""Built-in reference strategies; importing this package registers them by name."""
