import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B0, G, idx, bte, X, w, tr = d['B'], d['G'], d['idx'], d['bte'], d['X'], d['w'], d['tr']
ts = tr.ts.values; t0 = ts.min()
Xc = X.tocsc(); Xr = X.tocsr()
first = np.array([ts[Xc[:,j].nonzero()[0]].min() for j in range(X.shape[1])])
age_first = (first - t0)/np.timedelta64(1,'D')
print('items first seen after 30d:', (age_first>30).mean())
dg = G.diagonal().copy()
def solve(min_age=30, lam=10, M=100, keep=50, mode='exact'):
    n=G.shape[0]; B=np.zeros((n,n))
    for j in range(n):
        g=G[:,j].copy(); g[j]=0
        cand=np.nonzero(g>0)[0]
        if len(cand)==0: continue
        if len(cand)>M:
            order=np.lexsort((cand,-g[cand])); cand=cand[order[:M]]
        if age_first[j] > min_age:
            rows = np.nonzero(ts >= first[j])[0]
            Xj = Xr[rows][:,cand]
            A0 = (Xj.T @ sp.diags(w[rows]) @ Xj).toarray()
            A0[np.diag_indices(len(cand))] += lam
        else:
            A0=G[np.ix_(cand,cand)].copy(); A0[np.diag_indices(len(cand))]=dg[cand]+lam
        rhs=g[cand]; act=np.arange(len(cand)); r=0
        while True:
            x=np.linalg.solve(A0[np.ix_(act,act)], rhs[act])
            if r<16 and (x<=0).any():
                act=act[x>0]; r+=1
                if len(act)==0: break
                continue
            break
        if len(act): B[cand[act],j]=np.where(x>0,x,0)
    for i in range(n):
        row=B[i]; nz=np.nonzero(row)[0]
        if len(nz)>keep:
            thr=np.sort(row[nz])[-keep]; row[nz[row[nz]<thr]]=0
    return B
def report(B,label):
    r=evaluate_fast(B, idx, bte); per=np.array(r[3])
    newt = np.array([age_first[t]>30 if t>=0 else False for _,_,t in per])
    print(label,[round(x,4) for x in r[:3]],'new-target share',newt.mean().round(3),'hr3 new',per[newt,1].mean().round(4),'old',per[~newt,1].mean().round(4),flush=True)
report(B0,'base')
t=time.time(); B=solve(); print(time.time()-t)
report(B,'exposure')
pickle.dump(B, open(CACHE + '/B_expo.pkl','wb'))
