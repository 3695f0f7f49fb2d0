"""Cart-position proximity: an order's lines are in the order the buyer added
them, so two SKUs on adjacent lines are more likely related than two at
opposite ends of a 100-line order. The Gram's pair (a, b) of an order is
weighted k(d) = floor + (1 - floor)·exp(-d/τ), d = distance of their first
lines (a PSD kernel for floor ≥ 0, so the ridge fit stays well posed); the
diagonal keeps weight 1.

    prox.py [val|test] tau:floor ...
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name = sys.argv[1]
d = load(name)
X, idx, bte, tr, w = d['X'], d['idx'], d['bte'], d['tr'], d['w']
sub = df[df.InvoiceNo.isin(tr.index)]
seqs = {}
for inv, codes in sub.groupby('InvoiceNo', sort=False).StockCode:
    seen = dict.fromkeys(idx[c] for c in codes)
    seqs[inv] = np.array(list(seen), dtype=int)
wmap = dict(zip(tr.index, w))
n = X.shape[1]
for spec in sys.argv[2:]:
    tau, floor = (float(x) for x in spec.split(':'))
    G = np.zeros((n, n))
    for inv, ids in seqs.items():
        p = np.arange(len(ids))
        K = floor + (1 - floor) * np.exp(-np.abs(p[:, None] - p[None, :]) / tau)
        G[np.ix_(ids, ids)] += wmap[inv] * K
    B = sparse_ease(G, G.diagonal().copy())
    r = evaluate_fast(B, idx, bte)
    print(name, spec, f'HR@3 {r[0]:.4f} HR@10 {r[1]:.4f} NDCG {r[2]:.4f}', by_size(r[3]), flush=True)
