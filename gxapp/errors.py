"""Typed exceptions. Every message names the parameter, file, line or id at
fault and says what to do; the UI shows ``str(exc)`` as is."""


class GxError(Exception):
    """Base class of every error gxapp raises on purpose."""


class InputFormatError(GxError, ValueError):
    """A file or table is not in the expected format (wrong columns, truncated,
    non-numeric values...)."""


class SampleMismatchError(GxError, ValueError):
    """Sample ids do not tie genotypes, phenotype and covariates together."""


class DuplicateIdError(GxError, ValueError):
    """The same sample or SNP id appears more than once."""


class GeneMappingError(GxError, ValueError):
    """SNPs could not be mapped to genes (empty gene list, wrong build...)."""


class EmptyDataError(GxError, ValueError):
    """Nothing is left to work with (no SNPs, no samples, no genes)."""


class ParameterError(GxError, ValueError):
    """A parameter is outside its allowed range."""


class UploadTooLargeError(GxError, ValueError):
    """An uploaded file exceeds the size limit."""


class CacheError(GxError, RuntimeError):
    """A cache entry is missing or unreadable."""


class Cancelled(GxError):
    """Work was cancelled through its cancel flag."""


class ExecutorError(GxError, RuntimeError):
    """The executor (worker processes, a Dask cluster) failed or went away."""
