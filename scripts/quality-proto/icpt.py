import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte, X, w = d['G'], d['idx'], d['bte'], d['X'], d['w']
dg=G.diagonal().copy(); N=w.sum()
def solve(lam=10, M=100, keep=50, lam0=1.0, scale0=1.0):
    n=G.shape[0]; B=np.zeros((n,n)); b0=np.zeros(n)
    for j in range(n):
        g = G[:,j].copy(); g[j]=0
        cand = np.nonzero(g>0)[0]
        if len(cand)==0: continue
        if len(cand) > M:
            order = np.lexsort((cand, -g[cand])); cand = cand[order[:M]]
        m=len(cand)
        A0=np.zeros((m+1,m+1)); A0[:m,:m]=G[np.ix_(cand,cand)]
        A0[np.arange(m),np.arange(m)] = dg[cand]+lam
        A0[m,:m]=A0[:m,m]=dg[cand]*scale0; A0[m,m]=N*scale0**2+lam0
        rhs=np.append(g[cand], dg[j]*scale0)
        act=np.arange(m+1); r=0
        while True:
            x=np.linalg.solve(A0[np.ix_(act,act)], rhs[act])
            bad=(x<=0)&(act<m)
            if r<16 and bad.any():
                act=act[~bad]; r+=1; continue
            break
        for a,v in zip(act,x):
            if a==m: b0[j]=v*scale0
            elif v>0: B[cand[a],j]=v
    for i in range(n):
        row=B[i]; nz=np.nonzero(row)[0]
        if len(nz)>keep:
            thr=np.sort(row[nz])[-keep]; row[nz[row[nz]<thr]]=0
    return B,b0
for lam0 in [float(x) for x in sys.argv[1:]]:
    B,b0=solve(lam0=lam0)
    print('b0 stats', np.percentile(b0,[1,25,50,75,99]).round(4))
    for useb in [False, True]:
        r = evaluate_fast(B, idx, bte, bias=b0 if useb else None); per=np.array(r[3]); m=per[:,0]>=50
        print('lam0',lam0,'bias',useb, [round(x,4) for x in r[:3]], 'big', per[m,1].mean().round(4), flush=True)
