"""Analysis tools over files: replay (the embedded shell), evaluate, forecast, score-series."""
