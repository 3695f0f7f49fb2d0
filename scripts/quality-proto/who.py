"""Diagnostic: HR@3 by who placed the order and how big it is: the target
bought by the same customer before the split ('repeat'), a customer with
training orders who never bought it ('known'), a customer with none ('new'),
or no customer id at all ('none'); orders of <= 50 or > 50 SKUs.

    who.py [val|test]
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name = sys.argv[1] if len(sys.argv) > 1 else 'val'
a, b = (pd.Timestamp(x) for x in SPLITS[name])
d = load(name); B, idx, bte = d['B'], d['idx'], d['bte']
hist = df[df.ts < a].dropna(subset=['CustomerID']).groupby('CustomerID').StockCode.apply(set)
te = df[(df.ts >= a) & (df.ts < b)]
cust = te.groupby('InvoiceNo').CustomerID.first()
per = evaluate_fast(B, idx, bte)[3]
invoices = te.groupby('InvoiceNo').StockCode.apply(lambda s: sorted(set(s)))
assert list(invoices) == bte, 'test baskets in the order split() lists them'
i = 0; stats = {}
for inv, basket in zip(invoices.index, bte):
    if len(basket) < 2: continue
    c = cust[inv]; h = hist.get(c, set()) if isinstance(c, str) else None
    for t in basket:
        hit = per[i][1]; i += 1
        who = 'none' if h is None else 'repeat' if t in h else 'known' if h else 'new'
        s = stats.setdefault((who, '>50' if len(basket) > 50 else '<=50'), [0, 0]); s[0] += 1; s[1] += hit
for k in sorted(stats):
    n, h = stats[k]
    print(name, *k, f'share {n / i:.3f}', f'HR@3 {h / n:.4f}')
