#!/usr/bin/env python3
"""Python peer for scripts/bench-build: learns "bought together" neighbours
from the same orders file the Rust builder reads, timing load + fit + top-k.

Methods:
  knn   item-item cosine kNN (the `implicit` library, C++ inner loop) on the
        order x SKU incidence matrix; top-k from the fitted model for every SKU.
  ease  EASE (Steck 2019) with a dense Gram matrix and its inverse; only where
        it fits (the script refuses above --ease-max-items SKUs).

Loading uses pyarrow's multi-threaded CSV reader with dictionary-encoded
columns, the fastest ordinary way to get integer codes in Python.

Prints one JSON object: method, orders, skus, lines, seconds for each stage,
total seconds and peak RSS in MB.
"""

import argparse
import warnings
import json
import resource
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import scipy.sparse as sp


def load(path, order_col, sku_col, online_retail):
    """Reads orders into a binary CSR matrix (orders x SKUs)."""
    cols = [order_col, sku_col] + (["Quantity"] if online_retail else [])
    types = {order_col: pa.dictionary(pa.int32(), pa.string()), sku_col: pa.dictionary(pa.int32(), pa.string())}
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(include_columns=cols, column_types=types),
    )
    if online_retail:
        # EVALUATION.md's cleaning in brief: no cancellations, positive quantities.
        inv = pc.cast(table[order_col], pa.string())
        keep = pc.and_(pc.invert(pc.starts_with(inv, "C")), pc.greater(table["Quantity"], 0))
        table = table.filter(keep)
    table = table.unify_dictionaries()

    def codes(name):
        arr = table[name].combine_chunks()
        return np.asarray(arr.indices, dtype=np.int32), len(arr.dictionary)

    o, n_orders = codes(order_col)
    s, n_skus = codes(sku_col)
    x = sp.csr_matrix((np.ones(len(o), dtype=np.float32), (o, s)), shape=(n_orders, n_skus))
    x.data[:] = 1.0  # duplicate lines of one SKU in one order count once
    return x, len(o)


def fit_knn(x, k):
    # implicit converts to CSR itself and warns about it; the time is counted in fit_s.
    warnings.filterwarnings("ignore", message="Method expects CSR input")
    from implicit.nearest_neighbours import CosineRecommender

    model = CosineRecommender(K=k)
    model.fit(x, show_progress=False)
    return model


def topk_knn(model, n_items, k):
    ids, _scores = model.similar_items(np.arange(n_items), N=k + 1)
    return ids


def fit_ease(x, lam):
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return b


def topk_ease(b, k):
    return np.argpartition(-b, k, axis=1)[:, :k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", required=True, help="orders CSV (.gz allowed)")
    ap.add_argument("--order-col", default="order_id")
    ap.add_argument("--sku-col", default="sku")
    ap.add_argument("--online-retail", action="store_true", help="UCI Online Retail layout and cleaning")
    ap.add_argument("--method", choices=["knn", "ease"], default="knn")
    ap.add_argument("-k", type=int, default=20, help="neighbours kept per SKU")
    ap.add_argument("--lam", type=float, default=20.0, help="EASE L2 weight")
    ap.add_argument("--ease-max-items", type=int, default=15000)
    args = ap.parse_args()

    t0 = time.perf_counter()
    x, lines = load(args.orders, args.order_col, args.sku_col, args.online_retail)
    t1 = time.perf_counter()
    n_orders, n_items = x.shape
    if args.method == "ease":
        if n_items > args.ease_max_items:
            gb = n_items * n_items * 8 / 1e9
            print(
                f"EASE does not fit: {n_items} SKUs need a dense {gb:.1f} GB Gram matrix and an "
                f"O(n^3) inverse; use --method knn",
                file=sys.stderr,
            )
            sys.exit(3)
        model = fit_ease(x, args.lam)
        t2 = time.perf_counter()
        top = topk_ease(model, min(args.k, n_items - 1))
    else:
        model = fit_knn(x, args.k)
        t2 = time.perf_counter()
        top = topk_knn(model, n_items, args.k)
    t3 = time.perf_counter()
    assert top.shape[0] == n_items
    print(
        json.dumps(
            {
                "method": args.method,
                "orders": n_orders,
                "skus": n_items,
                "lines": lines,
                "load_s": round(t1 - t0, 2),
                "fit_s": round(t2 - t1, 2),
                "topk_s": round(t3 - t2, 2),
                "total_s": round(t3 - t0, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
