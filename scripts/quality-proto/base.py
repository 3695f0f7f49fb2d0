import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
# `base.py` builds the validation split (the only one used for choices).
# `base.py test` also builds the protocol's test split, for the diagnostic
# probes in probe.py; nothing chosen from it is ever made a default.
for name in ['val'] + (['test'] if 'test' in sys.argv[1:] else []):
    a, b = SPLITS[name]
    X, tr, skus, idx, bte = split(pd.Timestamp(a), pd.Timestamp(b))
    w, G = recency_gram(X, tr, tr.ts.max())
    diag = G.diagonal().copy()
    t=time.time(); B = sparse_ease(G, diag); print('ease', time.time()-t)
    pickle.dump(dict(X=X,tr=tr,skus=skus,idx=idx,bte=bte,w=w,G=G,B=B), open(CACHE + f'/{name}.pkl','wb'))
    r = evaluate_fast(B, idx, bte)
    print(name, r[:3])
