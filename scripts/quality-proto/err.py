import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte = d['B'], d['G'], d['idx'], d['bte']
dg=G.diagonal()
res=[]
for b in bte:
    if len(b)<2: continue
    ids=[idx.get(s,-1) for s in b]
    known=np.array([i for i in ids if i>=0],dtype=int)
    S=B[known].sum(0)
    for k,t in enumerate(ids):
        if t<0: continue
        s=S-B[t]; st=s[t]; m=s>st; m[known]=False
        res.append((len(b)-1, int(m.sum()), st, dg[t], (G[known,t]>0).sum()-0))
r=np.array(res)
for lo,hi in [(1,20),(20,50),(50,1000)]:
    m=(r[:,0]>=lo)&(r[:,0]<hi)
    rr=r[m]
    print(lo,hi,'n',m.sum(),'hr3',(rr[:,1]<3).mean().round(3),'score0',(rr[:,2]<=0).mean().round(3),'rank<10',(rr[:,1]<10).mean().round(3),'rank<30',(rr[:,1]<30).mean().round(3),'rank<100',(rr[:,1]<100).mean().round(3), 'median rank', np.median(rr[:,1]))
    for plo,phi in [(0,5),(5,20),(20,80),(80,1e9)]:
        mm=(rr[:,3]>=plo)&(rr[:,3]<phi)
        print('   pop',plo,phi,'share',mm.mean().round(3),'hr3',(rr[mm,1]<3).mean().round(3),'score0',(rr[mm,2]<=0).mean().round(3))
