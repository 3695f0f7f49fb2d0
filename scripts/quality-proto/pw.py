import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, idx, bte = d['B'], d['idx'], d['bte']
for p in [float(x) for x in sys.argv[1:]]:
    r = evaluate_fast(B**p, idx, bte); per=np.array(r[3])
    out=[per[(per[:,0]>=lo)&(per[:,0]<hi),1].mean().round(4) for lo,hi in [(1,20),(20,50),(50,1000)]]
    print('p',p, [round(x,4) for x in r[:3]], out, flush=True)
