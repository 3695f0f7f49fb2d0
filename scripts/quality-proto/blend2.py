import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte, X, w = d['B'], d['G'], d['idx'], d['bte'], d['X'], d['w']
def topk(M, k=50):
    M = M.copy(); np.fill_diagonal(M, 0)
    thr = -np.sort(-M, axis=1)[:, k-1:k]
    M[M < thr] = 0
    return M
dg = G.diagonal()
K = topk(G/np.sqrt(np.outer(dg,dg)+1e-12))
scale = B[B>0].mean()/K[K>0].mean()
def ev(gfun, label):
    out={}
    for b in bte:
        if len(b)<2: continue
        ids=[idx.get(s,-1) for s in b]
        known=np.array([i for i in ids if i>=0],dtype=int)
        S=B[known].sum(0); SK=K[known].sum(0)
        q=len(b)-1; g=gfun(q)*scale
        key = 0 if q<20 else (1 if q<50 else 2)
        o=out.setdefault(key,[0,0])
        for k,t in enumerate(ids):
            o[0]+=1
            if t<0: continue
            s=S-B[t]+g*(SK-K[t]); st=s[t]; m=s>st; m[known]=False
            o[1]+= m.sum()<3
    tot=sum(v[0] for v in out.values())
    print(label, round(sum(v[1] for v in out.values())/tot,4), {k:round(v[1]/v[0],4) for k,v in sorted(out.items())}, flush=True)
ev(lambda q:0,'base')
for gam in [0.01,0.05,0.15]:
    ev(lambda q:gam, f'const {gam}')
for gam in [0.5, 1.5]:
    ev(lambda q:gam/q, f'1/q {gam}')
