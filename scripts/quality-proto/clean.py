import numpy as np, pandas as pd, sys, time
import os
CACHE = os.environ.get('PROTO_CACHE', 'target/proto')
os.makedirs(CACHE, exist_ok=True)
df = pd.read_csv('data/online-retail.csv.gz', dtype={'InvoiceNo':str,'StockCode':str,'CustomerID':str})
df = df[~df.InvoiceNo.str.startswith('C') & (df.Quantity>0) & (df.UnitPrice>0) & df.StockCode.str.match(r'^[0-9]{5}')]
df['ts'] = pd.to_datetime(df.InvoiceDate)
df.to_pickle(CACHE + '/clean.pkl')
print(len(df))
