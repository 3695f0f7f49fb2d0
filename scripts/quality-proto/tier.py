"""Size-tiered tables: queries of >= `qmin` other SKUs are scored by a second
table fitted only on training orders of >= `omin` SKUs (its λ scaled by the
share of weight those orders carry); smaller queries keep the full table.

    tier.py [val|test] omin:qmin ...
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name = sys.argv[1]
d = load(name)
X, idx, bte, w, B, G = d['X'], d['idx'], d['bte'], d['w'], d['B'], d['G']
size = np.asarray(X.sum(1)).ravel()
base = evaluate_fast(B, idx, bte)
print(name, 'base', f'HR@3 {base[0]:.4f}', by_size(base[3]), flush=True)
for spec in sys.argv[2:]:
    omin, qmin = (int(x) for x in spec.split(':'))
    ws = w * (size >= omin)
    Gb = (X.T @ (sp.diags(ws) @ X)).toarray()
    Bb = sparse_ease(Gb, Gb.diagonal().copy(), lam=10.0)
    rb = evaluate_fast(Bb, idx, bte)
    per = [pb if pb[0] >= qmin else pa for pa, pb in zip(base[3], rb[3])]
    hr = sum(p[1] for p in per) / len(per)
    print(name, spec, f'HR@3 {hr:.4f}', by_size(per), '| big table alone', by_size(rb[3]), flush=True)
