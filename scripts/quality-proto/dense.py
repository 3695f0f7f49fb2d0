import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte = d['B'], d['G'], d['idx'], d['bte']
n=G.shape[0]
r = evaluate_fast(B, idx, bte)
per = np.array(r[3])
for lo,hi in [(1,5),(5,20),(20,50),(50,1000)]:
    m=(per[:,0]>=lo)&(per[:,0]<hi); print(lo,hi,m.mean().round(3), per[m,1].mean().round(4))
for lam in [10, 30]:
    P = np.linalg.inv(G + lam*np.eye(n))
    Bd = -P/np.diag(P); np.fill_diagonal(Bd,0)
    r2 = evaluate_fast(Bd, idx, bte); print('dense',lam, [round(x,4) for x in r2[:3]], flush=True)
    per2=np.array(r2[3])
    for lo,hi in [(1,5),(5,20),(20,50),(50,1000)]:
        m=(per2[:,0]>=lo)&(per2[:,0]<hi); print(' ',lo,hi, per2[m,1].mean().round(4))
    Bp = np.maximum(Bd,0)
    r2 = evaluate_fast(Bp, idx, bte); print('dense clip',lam, [round(x,4) for x in r2[:3]], flush=True)
