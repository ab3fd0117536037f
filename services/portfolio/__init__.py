"""The portfolio service: simulates signals over prices and dividends."""
