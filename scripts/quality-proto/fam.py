import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, idx, bte = d['B'], d['idx'], d['bte']
r = evaluate_fast(B, idx, bte)
per=r[3]; i=0; fam=[0,0]; suf=[0,0]
for b in bte:
    if len(b)<2: continue
    for k,t in enumerate(b):
        q,h,_=per[i]; i+=1
        if any(s[:5]==t[:5] for j,s in enumerate(b) if j!=k):
            fam[0]+=1; fam[1]+=h
        if len(t)>5: suf[0]+=1; suf[1]+=h
print('n',i,'family in query',fam, fam[1]/max(fam[0],1),'suffix target',suf,suf[1]/suf[0])
