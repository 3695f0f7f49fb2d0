"""Learned re-ranking of the table's top candidates (LambdaMART on features the
edge could compute from the neighbour lists and per-SKU facts).

The ranker is trained on leave-one-out queries of the month *before* a split's
training end, scored by a table trained before that month (so its scores are
out of sample, as at serving time); it is then applied to the split's own
table and queries.

    ltr.py [val|test]
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import lightgbm as lgb

TOP = 50


def month_model(train_end, test_end):
    X, tr, skus, idx, bte = split(pd.Timestamp(train_end), pd.Timestamp(test_end))
    tref = pd.Timestamp(train_end)
    age = (tref - tr.ts).dt.total_seconds().values / 86400
    _, G = recency_gram(X, tr, tref)
    C = (X.T @ X).toarray()
    B = sparse_ease(G, G.diagonal().copy())
    Xc = X.tocsc()
    n = len(skus)
    first = np.zeros(n); last = np.zeros(n); pop30 = np.zeros(n); pop7 = np.zeros(n)
    for j in range(n):
        r = Xc[:, j].nonzero()[0]
        a = age[r]
        first[j] = a.max(); last[j] = a.min()
        pop30[j] = (a < 30).sum(); pop7[j] = (a < 7).sum()
    d_tr = df[df.ts < tref]
    price = d_tr.groupby('StockCode').UnitPrice.median().reindex(skus).values
    facts = dict(pop=np.log1p(G.diagonal()), pop30=np.log1p(pop30), pop7=np.log1p(pop7),
                 first=np.log1p(first), last=np.log1p(last), price=np.log(price),
                 cnt=np.log1p(C.diagonal()))
    return dict(B=B, C=C, idx=idx, bte=bte, facts=facts)


def features(m):
    B, C, idx, bte, f = m['B'], m['C'], m['idx'], m['bte'], m['facts']
    rows = []; labels = []; groups = []; base = []; nq = 0
    for b in bte:
        if len(b) < 2: continue
        ids = [idx.get(s, -1) for s in b]
        known = np.array([i for i in ids if i >= 0], dtype=int)
        tot = B[known].sum(0)
        for t in ids:
            nq += 1
            if t < 0: continue
            q = known[known != t]
            if len(q) == 0:
                base.append(False); continue
            s = tot - B[t]
            s = s.copy(); s[q] = -np.inf
            m_ = s > s[t]
            base.append(int(m_.sum()) < 3)
            cand = np.argpartition(-s, TOP)[:TOP]
            cand = cand[np.argsort(-s[cand])]
            Bq = B[np.ix_(q, cand)]
            Cq = C[np.ix_(q, cand)]
            cdiag = C.diagonal()[q][:, None]
            lift = Cq / np.maximum(cdiag, 1)
            sc = s[cand]
            qn = len(q)
            F = np.column_stack([
                sc, sc / max(sc[0], 1e-12), np.arange(TOP),
                (Bq > 0).sum(0), (Bq > 0).sum(0) / qn, Bq.max(0),
                np.log1p(Cq.sum(0)), (Cq > 0).sum(0) / qn, lift.max(0), lift.mean(0),
                np.full(TOP, np.log(qn)),
                f['pop'][cand], f['pop30'][cand], f['pop7'][cand], f['first'][cand],
                f['last'][cand], f['price'][cand], f['cnt'][cand],
                f['price'][cand] - np.median(f['price'][q]),
            ])
            rows.append(F); labels.append((cand == t).astype(int)); groups.append(TOP)
    return np.vstack(rows), np.concatenate(labels), np.array(groups), np.array(base), nq


def hr3(ranker, F, y, groups, nq):
    p = ranker.predict(F)
    hits = 0; o = 0
    for g in groups:
        ys = y[o:o + g]; ps = p[o:o + g]; o += g
        if ys.any():
            t = np.argmax(ys)
            hits += int((ps > ps[t]).sum()) < 3
    return hits / nq


name = sys.argv[1] if len(sys.argv) > 1 else 'val'
if name == 'val':
    train_months = [('2011-08-01', '2011-09-01'), ('2011-09-01', '2011-10-01')]
else:
    train_months = [('2011-08-01', '2011-09-01'), ('2011-09-01', '2011-10-01'), ('2011-10-01', '2011-11-01')]
Fs = []; ys = []; gs = []
for a, b in train_months:
    t0 = time.time(); m = month_model(a, b)
    F, y, g, base, nq = features(m)
    print('train month', a, 'queries', len(g), 'base HR@3', base.sum() / nq, f'{time.time()-t0:.0f}s', flush=True)
    Fs.append(F); ys.append(y); gs.append(g)
F = np.vstack(Fs); y = np.concatenate(ys); g = np.concatenate(gs)
m = month_model(*SPLITS[name])
Ft, yt, gt, base, nq = features(m)
print(name, 'base HR@3', base.sum() / nq, 'in top', yt.sum() / nq, flush=True)
for leaves, trees, lr in [(15, 200, 0.05), (31, 400, 0.03), (7, 300, 0.05)]:
    r = lgb.LGBMRanker(objective='lambdarank', n_estimators=trees, num_leaves=leaves, learning_rate=lr,
                       min_child_samples=50, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                       lambdarank_truncation_level=10, verbose=-1)
    r.fit(F, y, group=g)
    print(name, f'leaves {leaves} trees {trees} lr {lr}', 'HR@3', round(hr3(r, Ft, yt, gt, nq), 4), flush=True)
