import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
idx, bte, X, w, tr = d['idx'], d['bte'], d['X'], d['w'], d['tr']
tref=tr.ts.max(); age=(tref-tr.ts).dt.total_seconds().values/86400
for c,h in [(0.5,21),(1.0,30)]:
    w2 = w + c*0.5**(age/h)
    G2=(X.T@sp.diags(w2)@X).toarray()
    for lamscale in [False, True]:
        lam = 10*(w2.sum()/w.sum() if lamscale else 1)
        B=sparse_ease(G2,G2.diagonal().copy(),lam=lam)
        r=evaluate_fast(B,idx,bte)
        print('mix',c,h,'lam',round(lam,2),[round(x,4) for x in r[:3]],flush=True)
