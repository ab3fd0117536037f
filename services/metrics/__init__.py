"""The metrics service: scores portfolios and compares them."""
