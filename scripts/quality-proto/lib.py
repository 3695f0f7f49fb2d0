import numpy as np, pandas as pd, scipy.sparse as sp, time, pickle
import os
CACHE = os.environ.get('PROTO_CACHE', 'target/proto')
os.makedirs(CACHE, exist_ok=True)
df = pd.read_pickle(CACHE + '/clean.pkl')
def split(train_end, test_end=None):
    o = df.groupby('InvoiceNo').agg(ts=('ts','min'), cust=('CustomerID','first'), country=('Country','first'))
    tr = o[o.ts < train_end]
    te = o[(o.ts >= train_end) & ((o.ts < test_end) if test_end is not None else True)]
    d_tr = df[df.InvoiceNo.isin(tr.index)]
    skus = np.sort(d_tr.StockCode.unique())
    idx = {s:i for i,s in enumerate(skus)}
    def baskets(d, orders):
        g = d.groupby('InvoiceNo').StockCode.apply(lambda s: sorted(set(s)))
        return [g[x] for x in orders.index if x in g.index]
    btr = baskets(d_tr, tr)
    bte = baskets(df[df.InvoiceNo.isin(te.index)], te)
    rows=[];cols=[]
    for r,b in enumerate(btr):
        for s in b: rows.append(r); cols.append(idx[s])
    X = sp.csr_matrix((np.ones(len(rows),dtype=np.float64),(rows,cols)), shape=(len(btr),len(skus)))
    tr = tr.loc[[x for x in tr.index]]
    return X, tr, skus, idx, bte

# The protocol's two splits: (training end, test end).
SPLITS = {'val': ('2011-10-01', '2011-11-01'), 'test': ('2011-11-01', '2100-01-01')}

def recency_gram(X, tr, ref, half_life=120.0):
    """The model's row weights 0.5^(age/half_life), age in days before `ref`
    (no decay for half_life 0), and the weighted Gram X^T W X, dense."""
    age = (ref - tr.ts).dt.total_seconds().values / 86400
    w = 0.5 ** (age / half_life) if half_life > 0 else np.ones(len(age))
    return w, (X.T @ (sp.diags(w) @ X)).toarray()

def evaluate(score_fn, n_items, idx, bte, ks=(3,10), detail=False):
    hits3=0; hits10=0; ndcg=0; n=0; per=[]
    for b in bte:
        if len(b) < 2: continue
        ids = [idx.get(s,-1) for s in b]
        known = [i for i in ids if i>=0]
        for k,t in enumerate(ids):
            n += 1
            if t < 0:
                per.append((len(b)-1, 0)); continue
            q = [i for j,i in enumerate(ids) if j!=k and i>=0]
            s = score_fn(q).copy()
            s[q] = -np.inf
            st = s[t]
            rank = int((s > st).sum())
            h3 = rank < 3; h10 = rank < 10
            hits3 += h3; hits10 += h10
            if h10: ndcg += 1/np.log2(rank+2)
            per.append((len(b)-1, h3))
    return hits3/n, hits10/n, ndcg/n, per

def evaluate_fast(B, idx, bte, bias=None, nfun=None):
    # score(q) = sum_{i in q} B[i,:] (+ bias*nfun(len q))
    hits3=0; hits10=0; ndcg=0; n=0; per=[]
    for b in bte:
        if len(b) < 2: continue
        ids = [idx.get(s,-1) for s in b]
        known = np.array([i for i in ids if i>=0], dtype=int)
        tot = B[known].sum(0) if len(known) else np.zeros(B.shape[1])
        for k,t in enumerate(ids):
            n += 1
            if t < 0:
                per.append((len(b)-1,0,-1)); continue
            s = tot - B[t]
            qn = len(b)-1
            if bias is not None:
                s = s + bias*(nfun(qn) if nfun else 1.0)
            st = s[t]
            mask = s > st
            mask[known] = False
            rank = int(mask.sum())
            h3 = rank<3; hits3+=h3; hits10 += rank<10
            if rank<10: ndcg += 1/np.log2(rank+2)
            per.append((qn,h3,t))
    return hits3/n, hits10/n, ndcg/n, per

def sparse_ease(G, diag, lam=10.0, M=100, keep=50, nonneg=True, rounds=16):
    n = G.shape[0]
    B = np.zeros((n,n))
    for j in range(n):
        g = G[:,j].copy(); g[j]=0
        cand = np.nonzero(g>0)[0]
        if len(cand)==0: continue
        if len(cand) > M:
            order = np.lexsort((cand, -g[cand]))
            cand = cand[order[:M]]
        act = cand
        r=0
        while True:
            A = G[np.ix_(act,act)].copy()
            A[np.diag_indices(len(act))] = diag[act] + lam
            x = np.linalg.solve(A, g[act])
            if nonneg and r<rounds and (x<=0).any():
                act = act[x>0]; r+=1
                if len(act)==0: break
                continue
            break
        if len(act): B[act, j] = np.where(x>0, x, 0)
    if keep:
        for i in range(n):
            row = B[i]
            nz = np.nonzero(row)[0]
            if len(nz) > keep:
                thr = np.sort(row[nz])[-keep]
                drop = nz[row[nz] < thr]
                row[drop] = 0
    return B

def sparse_ease_w(G, diag, X, w, alpha, lam=10.0, M=100, keep=50, rounds=16, beta_diag=1.0):
    """column j's rows weighted 1+alpha*x_j (positives up-weighted)."""
    n = G.shape[0]
    B = np.zeros((n,n))
    Xc = X.tocsc()
    Xr = X.tocsr()
    for j in range(n):
        g = G[:,j].copy(); g[j]=0
        cand = np.nonzero(g>0)[0]
        if len(cand)==0: continue
        if len(cand) > M:
            order = np.lexsort((cand, -g[cand]))
            cand = cand[order[:M]]
        rows = Xc[:,j].nonzero()[0]
        Xj = Xr[rows][:, cand].toarray() * np.sqrt(w[rows])[:,None]
        T = Xj.T @ Xj
        Gs = G[np.ix_(cand,cand)] + alpha*T
        rhs = (1+alpha)*g[cand]
        dg = diag[cand] + alpha*g[cand]
        act = np.arange(len(cand)); r=0
        while True:
            A = Gs[np.ix_(act,act)].copy()
            A[np.diag_indices(len(act))] = dg[act] + lam
            x = np.linalg.solve(A, rhs[act])
            if r<rounds and (x<=0).any():
                act = act[x>0]; r+=1
                if len(act)==0: break
                continue
            break
        if len(act): B[cand[act], j] = np.where(x>0, x, 0)
    if keep:
        for i in range(n):
            row = B[i]; nz = np.nonzero(row)[0]
            if len(nz) > keep:
                thr = np.sort(row[nz])[-keep]
                row[nz[row[nz] < thr]] = 0
    return B

from scipy.optimize import nnls
def sparse_ease_v(G, diag, lam=10.0, M=100, keep=50, rhs_fn=None, exact=False):
    n = G.shape[0]
    B = np.zeros((n,n))
    for j in range(n):
        g = G[:,j].copy(); g[j]=0
        cand = np.nonzero(g>0)[0]
        if len(cand)==0: continue
        if len(cand) > M:
            order = np.lexsort((cand, -g[cand]))
            cand = cand[order[:M]]
        rhs = g[cand] if rhs_fn is None else rhs_fn(j, cand, g[cand])
        A0 = G[np.ix_(cand,cand)].copy()
        A0[np.diag_indices(len(cand))] = diag[cand] + lam
        if exact:
            L = np.linalg.cholesky(A0)
            y = np.linalg.solve(L, rhs)
            x, _ = nnls(L.T, y, maxiter=2000)
            B[cand, j] = x
            continue
        act = np.arange(len(cand)); r=0
        while True:
            A = A0[np.ix_(act,act)]
            x = np.linalg.solve(A, rhs[act])
            if r<16 and (x<=0).any():
                act = act[x>0]; r+=1
                if len(act)==0: break
                continue
            break
        if len(act): B[cand[act], j] = np.where(x>0, x, 0)
    if keep:
        for i in range(n):
            row = B[i]; nz = np.nonzero(row)[0]
            if len(nz) > keep:
                thr = np.sort(row[nz])[-keep]
                row[nz[row[nz] < thr]] = 0
    return B

BUCKETS = [(1,5),(5,20),(20,50),(50,100),(100,10**6)]
def by_size(per):
    """HR@3 per bucket of query size, from evaluate_fast's per-query list."""
    p = np.array([(q, h) for q, h, *_ in per])
    return ' '.join(f'{lo}-{hi if hi < 10**6 else ""}:{p[(p[:,0]>=lo)&(p[:,0]<hi),1].mean():.3f}' for lo, hi in BUCKETS)

def load(name='val'):
    return pickle.load(open(CACHE + f'/{name}.pkl', 'rb'))

def truncate_rows(M, keep):
    """Keep each row's `keep` largest entries (in place)."""
    for i in range(M.shape[0]):
        row = M[i]; nz = np.nonzero(row)[0]
        if len(nz) > keep:
            thr = np.sort(row[nz])[-keep]
            row[nz[row[nz] < thr]] = 0
    return M
