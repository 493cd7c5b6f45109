"""Forecast path: daily sales per category -> per-category forecasts, backtests and charts."""
