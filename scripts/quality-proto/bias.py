import sys; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
B, G, idx, bte = d['B'], d['G'], d['idx'], d['bte']
diag = G.diagonal()
p = diag/diag.sum()
mean_b = B[B>0].mean()
print('mean weight', mean_b, 'max p', p.max())
for fname, nf in [('const', None), ('n', lambda n: n), ('sqrt', lambda n: n**0.5)]:
    for c in [0.3, 1, 3, 10]:
        bias = c * mean_b * p/p.mean() * 0.01
        r = evaluate_fast(B, idx, bte, bias=bias, nfun=nf)
        print(fname, c, [round(x,4) for x in r[:3]], flush=True)
