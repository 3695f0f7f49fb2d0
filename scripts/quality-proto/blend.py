import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte, X, w = d['B'], d['G'], d['idx'], d['bte'], d['X'], d['w']
def topk(M, k=50):
    M = M.copy(); np.fill_diagonal(M, 0)
    if k:
        thr = -np.sort(-M, axis=1)[:, k-1:k]
        M[M < thr] = 0
    return M
dg = G.diagonal()
size = np.asarray(X.sum(1)).ravel()
Xn = sp.diags(w/size) @ X
Gn = (X.T @ Xn).toarray()
deg = dg
for name, K in [('cos', topk(G/np.sqrt(np.outer(dg,dg)+1e-12))),
                ('rp3b0.5', topk((Gn/deg[:,None]) / (deg[None,:]**0.5+1e-12)))]:
    scale = B[B>0].mean()/K[K>0].mean()
    for gam in [0.05, 0.15, 0.4]:
        Bb = B + gam*scale*K
        r = evaluate_fast(Bb, idx, bte)
        Bt = topk(Bb, 50)
        r2 = evaluate_fast(Bt, idx, bte)
        print(name, gam, [round(x,4) for x in r[:3]], 'trunc50', [round(x,4) for x in r2[:3]], flush=True)
