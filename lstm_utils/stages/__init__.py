"""What the stage notebooks do, as functions, one module per stage (base, strategy, champion:
the compare stage; prepared: what the later ones read first): load the prepared batches, save the base model,
run a strategy's chain and save it, collect every strategy's results, choose and save the
champion. Which strategies the pipeline runs and compares, in which order, is params.yaml's
`compare.strategies` (the `strategy` stage of dvc.yaml runs once for each)."""

