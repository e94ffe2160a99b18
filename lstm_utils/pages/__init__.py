"""What each report page shows, one module per notebook: tables and words made from what the
rest of the package computed (no computing here, and no display: the notebooks display).

    data        data.ipynb: each batch's tails, the series
    base        base.ipynb: the model and the baselines on the base test tail
    strategy    strategy.ipynb: a strategy's settings, its steps and their intervals
    compare     compare.ipynb: :mod:`lstm_utils.compare` (the tables and the verdict in words)
    index       reports/index.html: the answer first (the champion, its error, the months)
"""
