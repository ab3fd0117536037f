"""What keeps the orchestrator answering when the services behind it fail, stall or drown.

Each mechanism is a small module with its own validated config (read from the environment by
``orchestrator.settings``) and state kept on the scheduler's clock, so it can be tested on virtual
time: ``deadline`` (one budget per backtest), ``retry`` (which failures, how long to wait),
``budget`` (how many retries a service may get), ``latency`` (a service's recent quantile, for
hedging), ``breaker`` (stop calling a failing service), ``bulkhead`` (cap calls in flight per service)
and ``limit`` (how many backtests the server admits). ``policy`` bundles what one service gets.
"""
