"""Our own code must not use deprecated APIs of its dependencies (pytest.ini turns a
DeprecationWarning attributed to a gxapp module into an error)."""

import warnings

import numpy as np
import pandas as pd

from gxapp.data.io.variants import gene_centric_tensor


def test_gene_centric_tensor_with_unlisted_samples_and_genes_uses_no_deprecated_pandas_api():
    v = pd.DataFrame({"iid": ["s1", "ghost"], "gene": ["A", "OTHER"], "class": ["UTR3", "UTR3"], "count": [2.0, 7.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        t = gene_centric_tensor(v, ["s1", "s2"], ["A"], classes=("UTR3",))
    np.testing.assert_array_equal(t[:, 0, 0], [2.0, 0.0])
