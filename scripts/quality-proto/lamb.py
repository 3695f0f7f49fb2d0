import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte = d['G'], d['idx'], d['bte']
for lam in [3.0, 30.0]:
    B=sparse_ease(G,G.diagonal().copy(),lam=lam)
    r=evaluate_fast(B,idx,bte); per=np.array(r[3])
    out=[per[(per[:,0]>=lo)&(per[:,0]<hi),1].mean().round(4) for lo,hi in [(1,20),(20,50),(50,1000)]]
    print('lam',lam,[round(x,4) for x in r[:3]],out,flush=True)
