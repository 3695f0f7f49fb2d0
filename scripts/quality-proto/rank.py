"""Listwise fine-tune of the table: starting from the model's weights (its
edges only), Adagrad on the softmax loss of every training order's
leave-one-out queries (temperature tau, recency-weighted, L2 pull mu toward
the start), weights kept non-negative; HR after each epoch.

    rank.py [val|test] epochs lr tau mu
"""
import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
name, epochs = sys.argv[1], int(sys.argv[2])
lr, tau, mu = (float(v) for v in sys.argv[3:6])
d = load(name)
X, idx, bte, w, B0 = d['X'].tocsr(), d['idx'], d['bte'], d['w'], d['B']
mask = B0 > 0
B = B0.copy(); acc = np.full(B.shape, 1e-8)
rows = [X.indices[X.indptr[r]:X.indptr[r + 1]] for r in range(X.shape[0])]
rng = np.random.default_rng(1)
print(name, 'start HR@3 %.4f' % evaluate_fast(B, idx, bte)[0], flush=True)
for ep in range(epochs):
    loss = 0; nq = 0
    for r in rng.permutation(len(rows)):
        I = rows[r]; m = len(I)
        if m < 2: continue
        tot = B[I].sum(0)
        S = (tot[None, :] - B[I]) / tau          # row k: the query I minus I[k]
        own = S[np.arange(m), I].copy()
        S[:, I] = -np.inf; S[np.arange(m), I] = own
        S -= S.max(1, keepdims=True)
        Pr = np.exp(S); Pr /= Pr.sum(1, keepdims=True)
        loss += -np.log(Pr[np.arange(m), I] + 1e-30).sum() * w[r]; nq += m
        Pr[np.arange(m), I] -= 1
        Pr *= w[r] / tau
        grad = (Pr.sum(0)[None, :] - Pr + mu * (B[I] - B0[I])) * mask[I]
        acc[I] += grad * grad
        B[I] = np.maximum(B[I] - lr * grad / np.sqrt(acc[I]), 0)
    r = evaluate_fast(B, idx, bte)
    print(name, f'epoch {ep} loss {loss/nq:.4f} HR@3 {r[0]:.4f} HR@10 {r[1]:.4f} NDCG@10 {r[2]:.4f}', flush=True)
