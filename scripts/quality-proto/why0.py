import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte = d['B'], d['G'], d['idx'], d['bte']
c={'never':0,'cooc':0,'total0':0,'n':0}
for b in bte:
    if len(b)<2 or len(b)>20: continue
    ids=[idx.get(s,-1) for s in b]
    known=np.array([i for i in ids if i>=0],dtype=int)
    S=B[known].sum(0)
    for k,t in enumerate(ids):
        if t<0: continue
        c['n']+=1
        q=known[known!=t]
        if (S[t]-B[t,t])<=0 and len(q):
            c['total0']+=1
            if (G[q,t]>0).any(): c['cooc']+=1
            else: c['never']+=1
print(c)
