"""The market data service and its providers."""
