"""Basket kNN (session-kNN): the K training orders most like the query
(cosine of SKU sets, × recency weight) vote for their SKUs; alone (a = ∞,
printed as "alone") and added to the table's scores (each list scaled to its
max), score = ease + a·sknn.

    sknn.py [val|test] K a1,a2,...
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name, K = sys.argv[1], int(sys.argv[2])
alphas = [float(a) for a in sys.argv[3].split(',')] + [np.inf]
d = load(name)
X, idx, bte, w, B = d['X'].tocsr(), d['idx'], d['bte'], d['w'], d['B']
Xc = X.tocsc(); size = np.maximum(np.asarray(X.sum(1)).ravel(), 1)
per = {a: [] for a in alphas}; nq = 0
for b in bte:
    if len(b) < 2: continue
    ids = [idx.get(s, -1) for s in b]
    known = np.array([i for i in ids if i >= 0], dtype=int)
    tot = B[known].sum(0)
    overlap = np.asarray(X[:, known].sum(1)).ravel()
    for t in ids:
        nq += 1
        if t < 0: continue
        qn = len(known) - 1
        sim = (overlap - Xc[:, t].toarray().ravel()) / np.sqrt(size * max(qn, 1)) * w
        top = np.argpartition(-sim, K)[:K]
        vote = np.asarray(X[top].T @ sim[top]).ravel()
        e = tot - B[t]
        e, vote = e / max(e.max(), 1e-12), vote / max(vote.max(), 1e-12)
        for a in alphas:
            s = vote if a == np.inf else e + a * vote
            m = s > s[t]; m[known] = False
            per[a].append((qn, int(m.sum()) < 3))
for a in alphas:
    hr = sum(h for _, h in per[a]) / nq
    print(name, f'K={K}', 'alone' if a == np.inf else f'a={a}', f'HR@3 {hr:.4f}', by_size(per[a]), flush=True)
