"""Names shared across layers: a prepared frame's bookkeeping columns and split codes, and the
linear family's designs. A leaf: it imports nothing of the package."""

BATCH, SPLIT = "batch", "split"  # bookkeeping columns of a frame: batch number, split code
SERIES = "series"  # and, when the data holds several series, each row's series name
SCALE = "_scale_"  # with several series, `_scale_<target>`: each row's series scale (see splits.series_scales)
SPLITS = ("train", "val", "test")
TRAIN, VAL, TEST = range(3)

DESIGNS = ("relative", "absolute", "both")  # the linear family (lstm_utils.linear), narrowest first
