"""Higher-order sparse EASE: each target's ridge fit takes, besides its 100
strongest co-purchased SKUs, its `pc` strongest SKU *pairs* (from the `P`
most co-bought pairs; a pair is a feature x_a·x_b, never one holding the
target), fitted non-negative; pair lists keep `keep_pairs` targets each and
are added to the score when both SKUs are in the query.

    pairs.py [val|test] P pc mu keep_pairs
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
from collections import defaultdict
name = sys.argv[1]
P, Pc, mu, keep_pairs = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
d = load(name)
X, idx, bte, w, G = d['X'].tocsc(), d['idx'], d['bte'], d['w'], d['G']
n = X.shape[1]; lam, M = 10.0, 100; diag = G.diagonal()
upper = np.triu(G, 1).ravel()
pa, pb = np.unravel_index(np.argpartition(-upper, P)[:P], G.shape)
Z = X[:, pa].multiply(X[:, pb]).tocsc()           # rows x pairs
W = sp.diags(w)
ZX = (Z.T @ (W @ X)).toarray()                      # pair-item Gram (triple counts)
ZZ = (Z.T @ (W @ Z)).tocsr()                        # pair-pair Gram
zdiag = np.asarray(ZZ.diagonal()).ravel()
T = ZX.copy(); T[np.arange(P), pa] = 0; T[np.arange(P), pb] = 0
Bi = np.zeros((n, n)); C = np.zeros((P, n))
for j in range(n):
    g = G[:, j].copy(); g[j] = 0
    cand = np.nonzero(g > 0)[0]
    if len(cand) == 0: continue
    if len(cand) > M:
        cand = cand[np.lexsort((cand, -g[cand]))[:M]]
    tj = T[:, j]
    pc = np.nonzero(tj > 0)[0]
    if len(pc) > Pc: pc = pc[np.argsort(-tj[pc], kind='stable')[:Pc]]
    k1 = len(cand)
    A = np.zeros((k1 + len(pc),) * 2)
    A[:k1, :k1] = G[np.ix_(cand, cand)]
    A[k1:, :k1] = ZX[np.ix_(pc, cand)]; A[:k1, k1:] = A[k1:, :k1].T
    A[k1:, k1:] = ZZ[pc][:, pc].toarray()
    dg = np.concatenate([diag[cand] + lam, zdiag[pc] + mu])
    rhs = np.concatenate([g[cand], tj[pc]])
    act = np.arange(len(dg))
    for r in range(17):                             # non-negative: prune and re-solve
        Aa = A[np.ix_(act, act)].copy(); Aa[np.diag_indices(len(act))] = dg[act]
        x = np.linalg.solve(Aa, rhs[act])
        if r == 16 or (x > 0).all(): break
        act = act[x > 0]
        if len(act) == 0: break
    if len(act) == 0: continue
    x = np.maximum(x, 0)
    Bi[cand[act[act < k1]], j] = x[act < k1]
    C[pc[act[act >= k1] - k1], j] = x[act >= k1]
truncate_rows(Bi, 50); truncate_rows(C, keep_pairs)
byitem = defaultdict(list)
for p, (a, b) in enumerate(zip(pa, pb)):
    byitem[int(a)].append((int(b), p)); byitem[int(b)].append((int(a), p))
h3 = h10 = nd = nq = 0; per = []
for b in bte:
    if len(b) < 2: continue
    ids = [idx.get(s, -1) for s in b]
    known = np.array([i for i in ids if i >= 0], dtype=int); ks = set(known.tolist())
    tot = Bi[known].sum(0)
    live = [p for a in ks for (o, p) in byitem.get(a, ()) if o in ks and a < o]
    ctot = C[live].sum(0) if live else 0
    for t in ids:
        nq += 1
        if t < 0: continue
        mine = [p for (o, p) in byitem.get(t, ()) if o in ks]
        s = tot - Bi[t] + ctot - (C[mine].sum(0) if mine else 0)
        m = s > s[t]; m[known] = False; rk = int(m.sum())
        h3 += rk < 3; h10 += rk < 10; nd += (rk < 10) / np.log2(rk + 2)
        per.append((len(known) - 1, rk < 3))
print(name, sys.argv[2:], f'HR@3 {h3/nq:.4f} HR@10 {h10/nq:.4f} NDCG@10 {nd/nq:.4f}', by_size(per), flush=True)
