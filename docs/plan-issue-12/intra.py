#!/usr/bin/env python3
"""File graph and cycles inside modules of src/ (issue #12's plan): intra.py DIR…"""
import os,re,sys
root=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','..','src')
def strip(s):
    return '\n'.join(re.sub(r'//.*','',l) for l in s.split('\n'))
def tl(L):
    for i,l in enumerate(L):
        if l.strip().startswith('#[cfg(test)]') and i+1<len(L) and re.match(r'\s*(pub )?mod \w+',L[i+1]): return i+1
    return 10**9
def analyze(d):
    dirp=os.path.join(root,d)
    files=[f[:-3] for f in os.listdir(dirp) if f.endswith('.rs')]+[x for x in os.listdir(dirp) if os.path.isdir(os.path.join(dirp,x))]
    names=set(files)-{'mod'}
    modrs=open(os.path.join(dirp,'mod.rs')).read()
    reexp={}
    for m in re.finditer(r'pub use (?:self::)?(r#)?(\w+)::(\{[^}]*\}|\w+)',modrs):
        mod=m.group(2); items=re.findall(r'\w+',m.group(3))
        for it in items:
            if it!='self': reexp[it]=mod
    crate_prefix='crate::'+d.replace('/','::')+'::'
    G={}
    for f in files:
        p=os.path.join(dirp,f+'.rs')
        if not os.path.exists(p): continue
        raw=open(p).read();L=raw.split('\n');T=tl(L)
        txt=strip(raw)
        for i,l in enumerate(txt.split('\n')):
            if i+1>T: break
            refs=[]
            for m in re.finditer(r'(?:\bsuper::|'+re.escape(crate_prefix)+r'|\bself::)(\{[^}]*\}|(?:r#)?\w+)',l):
                if m.group(0).startswith('self::') and f!='mod': continue
                g=m.group(1)
                refs+= re.findall(r'(?:^|[{,]\s*)(?:r#)?(\w+)',g) if g.startswith('{') else [g.replace('r#','')]
            for r in refs:
                tgt = r if r in names else reexp.get(r)
                if tgt and tgt!=f: G.setdefault(f,{}).setdefault(tgt,[]).append(i+1)
    return G
def scc(G):
    idx={};low={};st=[];on=set();res=[];c=[0]
    nodes=set(G)|{x for v in G.values() for x in v}
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in G.get(v,()):
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            res.append(comp)
    for v in sorted(nodes):
        if v not in idx: sc(v)
    return [r for r in res if len(r)>1]
for d in sys.argv[1:]:
    G=analyze(d)
    print('==',d)
    for a in sorted(G): print('  ',a,'->',', '.join(f"{b}:{','.join(map(str,ls))}" for b,ls in sorted(G[a].items())))
    print('  SCC:',scc(G))
