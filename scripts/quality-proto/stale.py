import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, idx, bte, X, tr = d['B'], d['idx'], d['bte'], d['X'], d['tr']
tref = tr.ts.max()
Xc = X.tocsc()
ts = tr.ts.values
last = np.array([ (tref - ts[Xc[:,j].nonzero()[0]].max())/np.timedelta64(1,'D') for j in range(X.shape[1])])
hit=0; n=0; tgt=[]; rec=[]
for b in bte:
    if len(b)<2: continue
    ids=[idx.get(s,-1) for s in b]
    known=np.array([i for i in ids if i>=0],dtype=int)
    S=B[known].sum(0)
    for k,t in enumerate(ids):
        if t<0: continue
        s=S-B[t]; s[known]=-np.inf
        top=np.argsort(-s)[:3]
        rec.extend(last[top]); tgt.append(last[t])
rec=np.array(rec); tgt=np.array(tgt)
for dd in [14,30,60,90]:
    print(dd, 'targets stale', (tgt>dd).mean().round(4), 'top3 offers stale', (rec>dd).mean().round(4))
np.save(CACHE + '/last_val.npy', last)
