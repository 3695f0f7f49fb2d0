import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte, X, w = d['G'], d['idx'], d['bte'], d['X'], d['w']
for a in [float(x) for x in sys.argv[1:]]:
    t=time.time()
    B = sparse_ease_w(G, G.diagonal().copy(), X, w, a)
    r = evaluate_fast(B, idx, bte)
    per=np.array(r[3]); m=per[:,0]>=50
    print('alpha',a, [round(x,4) for x in r[:3]], 'big', per[m,1].mean().round(4), round(time.time()-t), flush=True)
