import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte, X, w = d['G'], d['idx'], d['bte'], d['X'], d['w']
dg=G.diagonal().copy(); N=w.sum()
def run(label, **kw):
    t=time.time()
    B = sparse_ease_v(G, dg, **kw)
    r = evaluate_fast(B, idx, bte); per=np.array(r[3]); m=per[:,0]>=50
    print(label, [round(x,4) for x in r[:3]], 'big', per[m,1].mean().round(4), 'edges', (B>0).sum(), round(time.time()-t), flush=True)
for v in sys.argv[1:]:
    kind, val = v.split('=')
    val=float(val)
    if kind=='exact': run('exact nnls', exact=True)
    if kind=='l1': run(f'l1 {val}', rhs_fn=lambda j,c,g: g-val)
    if kind=='center': run(f'center {val}', rhs_fn=lambda j,c,g: g-val*dg[c]*dg[j]/N)
