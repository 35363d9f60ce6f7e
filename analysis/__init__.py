"""Statistics of diagnostic reader studies: ROC/DeLong, reader metrics, MRMC, power, tables, charts.

The modules in this package import numpy, scipy, pandas, statsmodels, scikit-learn and matplotlib,
never Django: the web adapter turns database rows into frames and calls these functions.
"""

from __future__ import annotations

from analysis.errors import AnalysisInputError

__all__ = ["AnalysisInputError"]
