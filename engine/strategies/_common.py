"""What the built-in strategies share."""

BAR_INTERVALS = ("1m", "5m", "15m", "1h")
