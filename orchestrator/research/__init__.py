"""Many backtests for one question: a parameter sweep, strategies side by side, walk-forward.

Each runs the backtest graph (``orchestrator.backtest``) once per setting, over market data and a
baseline run fetched once and shared (``backtest.graph.Market``). Like ``backtest/``, this layer
imports nothing of the web server; ``web/routes/`` answers it as JSON, a stream or CSV.
"""
