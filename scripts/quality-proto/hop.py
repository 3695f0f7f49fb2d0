import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, idx, bte = d['B'], d['idx'], d['bte']
def topk(M, k=50):
    M = M.copy(); np.fill_diagonal(M, 0)
    thr = -np.sort(-M, axis=1)[:, k-1:k]
    M[M < thr] = 0
    return M
B2 = B@B; np.fill_diagonal(B2,0)
print('scale', B[B>0].mean(), B2[B2>0].mean())
for eta in [float(x) for x in sys.argv[1:]]:
    Bt = topk(B + eta*B2)
    r = evaluate_fast(Bt, idx, bte); per=np.array(r[3])
    out=[per[(per[:,0]>=lo)&(per[:,0]<hi),1].mean().round(4) for lo,hi in [(1,20),(20,50),(50,1000)]]
    print('eta',eta, [round(x,4) for x in r[:3]], out, flush=True)
