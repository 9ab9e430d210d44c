"""Evaluation: indicators → rules and health → alerts as of a date; the backtest replays the same code."""
