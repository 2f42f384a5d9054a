"""Reading the CSV files `manage.py anomalies_backtest` scores: columns, timestamps, values, series, notes."""


class InputError(Exception):
    """A file the backtest cannot read; the message names the line at fault and what to do."""
