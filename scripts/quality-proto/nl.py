import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte = d['B'], d['G'], d['idx'], d['bte']
C = (B>0).astype(float)
def ev(fn, label):
    hits3=0;hits10=0;n=0;big=[0,0]
    for b in bte:
        if len(b)<2: continue
        ids=[idx.get(s,-1) for s in b]
        known=np.array([i for i in ids if i>=0],dtype=int)
        S=B[known].sum(0); K=C[known].sum(0)
        for k,t in enumerate(ids):
            n+=1
            if t<0: continue
            s=fn(S-B[t], K-C[t], len(b)-1)
            st=s[t]; m=s>st; m[known]=False; r=int(m.sum())
            hits3+=r<3; hits10+=r<10
            if len(b)-1>=50: big[0]+=1; big[1]+=r<3
    print(label, round(hits3/n,4), round(hits10/n,4), 'big', round(big[1]/big[0],4), flush=True)
ev(lambda S,K,q: S, 'base')
for g in [0.1,0.25,0.5]:
    ev(lambda S,K,q: S*(K**g), f'S*K^{g}')
for g in [0.25,0.5]:
    ev(lambda S,K,q: S*((K/q)**g), f'S*(K/q)^{g}')
