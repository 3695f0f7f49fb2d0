import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
idx, bte, X, w, tr, G = d['idx'], d['bte'], d['X'], d['w'], d['tr'], d['G']
cnt = tr.groupby('cust').cust.transform('count').fillna(1).values
cnt = np.where(tr.cust.isna().values, 1, cnt)
w2 = w*cnt**0.25
G2=(X.T@sp.diags(w2)@X).toarray(); sc=w2.sum()/w.sum()
for lam in [3*sc, 10*sc]:
    B=sparse_ease_v(G2,G2.diagonal().copy(),lam=lam)
    r=evaluate_fast(B,idx,bte); print('cust-0.25 lam',round(lam,1),[round(x,4) for x in r[:3]],flush=True)
    cs=B.sum(0); cs[cs==0]=1
    r=evaluate_fast(B*cs[None,:]**-0.25,idx,bte); print('  +colnorm',[round(x,4) for x in r[:3]],flush=True)
