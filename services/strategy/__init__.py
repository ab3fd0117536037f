"""The strategy service: BUY signals from prices."""
