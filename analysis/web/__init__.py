"""The statistics core's Django adapter (app label "analysis"): the cached report, its pages, the
CSV exports and the API. Selectors turn rows into frames; every number comes from `analysis`."""
