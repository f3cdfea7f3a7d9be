"""Modal screens: confirmations (y / n / esc), action forms, help."""
