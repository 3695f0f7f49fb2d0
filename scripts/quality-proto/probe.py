"""Diagnostic only (run `base.py test` first): the baseline model on the
protocol's test split under other half-lives and λ (spec "half_life:lambda",
half-life 0 = no decay; "dense:..." for dense EASE with its negative weights,
"dense20:..." for its 20 largest positive weights per SKU), with HR@3 by
query size. It asks how far any
setting of this model family could reach on test; nothing chosen from it
becomes a default.

    probe.py [val|test] 120:10 60:10 dense:0:20 dense20:0:20 ...
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name = sys.argv[1]
d = load(name)
X, idx, bte, tr = d['X'], d['idx'], d['bte'], d['tr']
for spec in sys.argv[2:]:
    kind, hl, lam = ([''] + spec.split(':'))[-3:]
    hl, lam = float(hl), float(lam)
    w, G = recency_gram(X, tr, tr.ts.max(), hl)
    if kind.startswith('dense'):
        P = np.linalg.inv(G + lam * np.eye(G.shape[0]))
        B = -P / np.diag(P); np.fill_diagonal(B, 0)
        if kind == 'dense20': B = truncate_rows(np.maximum(B, 0), 20)
    else:
        B = sparse_ease(G, G.diagonal().copy(), lam=lam)
    r = evaluate_fast(B, idx, bte)
    print(name, spec, f'HR@3 {r[0]:.4f} HR@10 {r[1]:.4f}', by_size(r[3]), flush=True)
