import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte, X, w, tr = d['G'], d['idx'], d['bte'], d['X'], d['w'], d['tr']
cnt = tr.groupby('cust').cust.transform('count').fillna(1).values
cnt = np.where(tr.cust.isna().values, 1, cnt)
print('orders per customer median', np.median(cnt))
for a in [float(x) for x in sys.argv[1:]]:
    w2 = w * cnt**(-a)
    G2 = (X.T @ sp.diags(w2) @ X).toarray()
    lam = 10*w2.sum()/w.sum()
    B = sparse_ease(G2, G2.diagonal().copy(), lam=lam)
    r = evaluate_fast(B, idx, bte); per=np.array(r[3]); m=per[:,0]>=50
    print('cust a',a,'lam',round(lam,2), [round(x,4) for x in r[:3]], 'big', per[m,1].mean().round(4), flush=True)
