"""Keep an LSTM forecaster current as new CSV data arrives."""

import os

# Quiet and repeatable TensorFlow unless the user chose otherwise: no start-up log lines in
# notebook outputs, and no oneDNN graph rewrites (they may reorder floating-point sums).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
