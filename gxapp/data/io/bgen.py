"""BGEN 1.2 / 1.3 reader (imputed genotypes, UK Biobank's format) through ``cbgen``.

``cbgen`` is the C core of ``bgen-reader`` (same authors); gxapp calls it directly because
``bgen-reader`` 4.0.9 pins ``pandas<3`` and ``dask<2025``, which would downgrade the app's pandas
and break ``distributed`` (measured on 2026-12-01: installing it moved pandas 3.1 → 2.3, dask
2026.8 → 2024.12).

Each variant's genotype probabilities become an imputed **dosage** — the expected count of its
second allele, ``a1`` (the first allele is ``a2``, REF in UK Biobank's files) — kept as float32
for the networks and the peers; QC reads their **hard calls** (the most likely genotype; missing
only where the probabilities are). Variants with an IMPUTE-style info score
below ``min_info`` (default 0.4, paper A) are dropped and counted. Only biallelic, unphased or
phased diploid variants are read. Samples come from the ``.sample`` file (``ID_1 ID_2`` as FID /
IID), else from the BGEN's own sample block (FID = IID). The variant index (cbgen's metafile) is
written to a temporary folder, never beside the user's file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import Genotypes, normalise_chrom
from gxapp.errors import EmptyDataError, InputFormatError
from gxapp.progress import check_cancel, report

MIN_INFO = 0.4
_CHUNK_CELLS = 1 << 24


def read_sample_file(path: Path) -> pd.DataFrame:
    """``fid, iid`` from an Oxford ``.sample`` file (header, then a column-type row)."""
    try:
        df = pd.read_csv(path, sep=r"\s+", dtype=str)
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path.name}: not a readable .sample file ({exc})") from None
    if df.shape[1] < 2 or df.columns[0] not in ("ID_1", "ID") or len(df) < 1:
        raise InputFormatError(f"{path.name}: expected an Oxford .sample file (header ID_1 ID_2 …)")
    df = df.iloc[1:] if str(df.iloc[0, 0]) == "0" else df  # the column-type row
    iid = df["ID_2"] if "ID_2" in df else df.iloc[:, 0]
    fid = df["ID_1"] if "ID_2" in df else iid
    return pd.DataFrame({"fid": fid.astype(str).to_numpy(), "iid": iid.astype(str).to_numpy()})


class _Bgen:
    """An open BGEN file with its variant index (built in a temporary folder)."""

    def __init__(self, path: Path):
        import cbgen

        if not path.is_file():
            raise InputFormatError(f"{path.name}: file not found at {path}; check the path")
        self._tmp = tempfile.TemporaryDirectory(prefix="gxapp-bgen-")
        try:
            self.file = cbgen.bgen_file(path)
            meta = Path(self._tmp.name) / (path.name + ".metafile")
            self.file.create_metafile(meta, verbose=False)
            mf = cbgen.bgen_metafile(meta)
            parts = [mf.read_partition(i).variants for i in range(mf.npartitions)]
            mf.close()
        except Exception as exc:  # cbgen raises RuntimeError with its own text
            self._tmp.cleanup()
            raise InputFormatError(
                f"{path.name}: not a readable BGEN 1.2/1.3 file ({type(exc).__name__}: {exc})"
            ) from None

        def cat(attr, dec=True):
            v = np.concatenate([getattr(p, attr) for p in parts]) if parts else np.array([])
            return np.char.decode(v.astype(bytes), "utf-8") if dec else v

        self.offsets = cat("offset", dec=False).astype(np.int64)
        self.variants = pd.DataFrame(
            {
                "rsid": cat("rsid"),
                "id": cat("id"),
                "chrom": cat("chromosome"),
                "pos": cat("position", dec=False).astype(np.int64),
                "alleles": cat("allele_ids"),
                "n_alleles": cat("nalleles", dec=False).astype(np.int64),
            }
        )
        self.nsamples = int(self.file.nsamples)

    def samples(self):
        if not self.file.contain_samples:
            return None
        return np.char.decode(np.asarray(self.file.read_samples()).astype(bytes), "utf-8")

    def genotype_probs(self, k: int) -> np.ndarray:
        """(n, 3) probabilities of 0, 1, 2 copies of the second allele (NaN rows when missing)."""
        g = self.file.read_genotype(int(self.offsets[k]), precision=64)
        p = np.asarray(g.probability, np.float64)
        if np.any(np.asarray(g.ploidy) != 2):
            raise InputFormatError("BGEN: only diploid genotypes are read")
        if g.phased:  # haplotype probabilities (h1: a, b; h2: a, b) → genotype probabilities
            h1a, h1b, h2a, h2b = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
            p = np.column_stack([h1a * h2a, h1a * h2b + h1b * h2a, h1b * h2b])
        p[np.asarray(g.missing, bool)] = np.nan
        return p

    def close(self):
        self.file.close()
        self._tmp.cleanup()


def variant_table(path) -> pd.DataFrame:
    """``snp, chrom, pos, a1, a2, n_alleles`` of every variant (for the gene mapping before reading)."""
    b = _Bgen(Path(path))
    try:
        return _variants(b)
    finally:
        b.close()


def _variants(b: _Bgen) -> pd.DataFrame:
    v = b.variants
    alleles = v["alleles"].str.split(",")
    snp = v["rsid"].where(~v["rsid"].isin(["", "."]), v["id"])
    return pd.DataFrame(
        {
            "snp": snp.to_numpy(),
            "chrom": normalise_chrom(v["chrom"]).to_numpy(),
            "pos": v["pos"].to_numpy(),
            "a1": alleles.str[-1].to_numpy(),
            "a2": alleles.str[0].to_numpy(),
            "n_alleles": v["n_alleles"].to_numpy(),
        }
    )


def info_score(probs: np.ndarray) -> np.ndarray:
    """IMPUTE-style info per variant from (n, k, 3) genotype probabilities (0, 1, 2 copies of a1):
    ``1 − Σ_i var_i / (2 n θ (1 − θ))`` with ``θ`` the dosage frequency; 1 for a monomorphic one."""
    p = np.nan_to_num(probs)
    called = np.isfinite(probs).all(axis=2)
    e = p[..., 1] + 2 * p[..., 2]
    e2 = p[..., 1] + 4 * p[..., 2]
    n = called.sum(axis=0)
    theta = np.where(n > 0, (e * called).sum(axis=0) / (2 * np.maximum(n, 1)), 0.0)
    denom = 2 * n * theta * (1 - theta)
    var = ((e2 - e**2) * called).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 1 - var / denom, 1.0)


def read_bgen(
    path,
    sample=None,
    select=None,
    min_info=MIN_INFO,
    progress=None,
    cancel=None,
    duplicate_ids="rename",
) -> Genotypes:
    """Read a BGEN file: dosages and hard calls of the ``select``-ed variants (row indices of
    :func:`variant_table`; None: all) that are biallelic with info ≥ ``min_info``."""
    path = Path(path)
    b = _Bgen(path)
    try:
        samples = read_sample_file(Path(sample)) if sample else None
        if samples is None:
            own = b.samples()
            if own is None:
                raise InputFormatError(f"{path.name}: has no sample ids; give its .sample file (--sample)")
            ids = pd.Series(own).astype(str)
            samples = pd.DataFrame({"fid": ids.to_numpy(), "iid": ids.to_numpy()})
            ids_from = "the BGEN sample block (FID = IID)"
        else:
            ids_from = f"{Path(sample).name} (ID_1 = FID, ID_2 = IID)"
        if len(samples) != b.nsamples:
            raise InputFormatError(f"{path.name}: {b.nsamples} samples but the .sample file lists {len(samples)}")
        var = _variants(b)
        rows = np.arange(len(var)) if select is None else np.asarray(select)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = np.unique(rows.astype(np.int64))
        biallelic = var["n_alleles"].to_numpy()[rows] == 2
        n_multi = int((~biallelic).sum())
        rows = rows[biallelic]
        n = b.nsamples
        step = max(1, _CHUNK_CELLS // max(n * 3, 1))
        # filled in place, variant-major, then compacted to the kept variants: one copy in memory
        hard = np.empty((n, len(rows)), dtype=np.int8, order="F")
        dos = np.empty((n, len(rows)), dtype=np.float32, order="F")
        keep, infos, filled = [], [], 0
        for s in range(0, len(rows), step):
            check_cancel(cancel)
            part = rows[s : s + step]
            probs = np.stack([b.genotype_probs(int(k)) for k in part], axis=1)  # (n, k, 3), NaN when missing
            info = info_score(probs)
            ok = info >= min_info
            probs = probs[:, ok]
            d = (probs[..., 1] + 2 * probs[..., 2]).astype(np.float32)
            best = np.nan_to_num(probs, nan=-1.0).argmax(axis=2)
            k = d.shape[1]
            hard[:, filled : filled + k] = np.where(np.isfinite(d), best, -1)
            dos[:, filled : filled + k] = d
            filled += k
            keep.append(part[ok])
            infos.append(info[ok])
            report(
                progress, min(1.0, (s + len(part)) / max(len(rows), 1)), f"read {s + len(part)}/{len(rows)} variants"
            )
    finally:
        b.close()
    keep = np.concatenate(keep) if keep else np.array([], np.int64)
    n_low = int(len(rows) - len(keep))
    if not len(keep):
        raise EmptyDataError(
            f"{path.name}: no variant left of the {len(rows) + n_multi} selected ({n_low} with info < {min_info:g}, "
            f"{n_multi} not biallelic); lower min_info or check the gene regions"
        )
    snps = var.iloc[keep][["snp", "chrom", "pos", "a1", "a2"]].reset_index(drop=True)
    geno = Genotypes(
        genotypes=hard[:, :filled],
        samples=samples,
        snps=snps,
        dosages=dos[:, :filled],
        meta={
            "source": "bgen",
            "path": str(path),
            "n_snps_in_file": int(len(var)),
            "sample_ids": ids_from,
            "info_min": float(min_info),
            "dropped_low_info": n_low,
            "dropped_not_biallelic": n_multi,
            "info_median": float(np.median(np.concatenate(infos))),
        },
    )
    return geno.with_unique_variant_ids(duplicate_ids).validate(path.name)
