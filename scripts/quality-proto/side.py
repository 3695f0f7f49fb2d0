# Title-token side information (collective EASE, Jeunen et al. 2020): each
# word of the product titles is an extra "row" of X holding every SKU whose
# title has it, weighted beta / df^p, so G' = G + T^T W T. Validation only.
# usage: side.py BETA:P [BETA:P ...]
import sys, re; sys.path.insert(0, __import__('os').path.dirname(__file__))
from lib import *
import pickle
d = pickle.load(open(CACHE + '/val.pkl','rb'))
G, idx, bte, skus, tr = d['G'], d['idx'], d['bte'], d['skus'], d['tr']
desc = df[df.InvoiceNo.isin(tr.index)].groupby('StockCode').Description.agg(lambda s: s.mode().iat[0] if len(s.mode()) else '')
toks = {}
for s in skus:
    words = set(w for w in re.split(r'[^A-Z]+', str(desc.get(s, '')).upper()) if len(w) >= 3)
    for w in words: toks.setdefault(w, []).append(idx[s])
toks = {w: v for w, v in toks.items() if 2 <= len(v) <= 400}
rows=[]; cols=[]
for r, (w, v) in enumerate(toks.items()):
    rows += [r]*len(v); cols += v
T = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(toks), len(skus)))
dfreq = np.asarray(T.sum(1)).ravel()
print('tokens', len(toks), 'median df', np.median(dfreq), flush=True)
for arg in sys.argv[1:]:
    beta, p = (float(x) for x in arg.split(':'))
    S = (T.T @ sp.diags(beta / dfreq**p) @ T).toarray()
    G2 = G + S
    B = sparse_ease(G2, G2.diagonal().copy())
    r = evaluate_fast(B, idx, bte); per = np.array(r[3]); m = per[:,0] >= 50
    print('side beta', beta, 'p', p, [round(x,4) for x in r[:3]], 'big', per[m,1].mean().round(4), 'small', per[~m,1].mean().round(4), flush=True)
