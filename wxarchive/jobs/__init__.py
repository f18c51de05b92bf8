"""What a command does with many articles: the pipeline, check, harvest and its sources, dry runs."""
