"""gxapp: gene-gene interaction (epistasis) discovery with neural networks.

The science lives in this package and never imports streamlit; ``gxapp.ui`` is
the only streamlit-aware part.
"""

__version__ = "0.3.0"

from gxapp.data.cohort import Cohort  # noqa: E402,F401
from gxapp.errors import GxError  # noqa: E402,F401
