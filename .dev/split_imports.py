"Move top-level imports of non-exported code cells into a cell of their own just before (nbdev runs import cells when building docs)"
import ast, json, re, sys, uuid
from pathlib import Path

def split(nb):
    nb = Path(nb); d = json.loads(nb.read_text()); out = []; n = 0
    for c in d['cells']:
        if c['cell_type'] != 'code': out.append(c); continue
        src = ''.join(c['source']); lines = src.splitlines()
        dirs = [l for l in lines if re.match(r'^\s*#\s*\|', l)]
        names = [l.strip()[2:].strip().lstrip('|').strip().split()[0].rstrip(':') for l in dirs if l.strip()[2:].strip().lstrip('|').strip()]
        if set(names) & {'export', 'exports', 'exporti', 'exec_doc'} or any('eval: false' in l or 'eval:false' in l for l in dirs):
            out.append(c); continue
        try: body = ast.parse(src).body
        except SyntaxError: out.append(c); continue
        imps = [s for s in body if isinstance(s, (ast.Import, ast.ImportFrom))]
        if not imps or len(imps) == len(body): out.append(c); continue
        drop = set()
        for s in imps: drop |= set(range(s.lineno - 1, s.end_lineno))
        imp_lines = [lines[i] for i in sorted(drop)]
        rest = [l for i, l in enumerate(lines) if i not in drop and l not in dirs]
        def mk(ls, like):
            t = '\n'.join(ls); src_ = [l + '\n' for l in t.split('\n')]; src_[-1] = src_[-1].rstrip('\n')
            return dict(like, source=src_)
        ic = dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=[])
        if 'id' in c: ic['id'] = uuid.uuid4().hex[:8]
        out.append(mk(dirs + imp_lines, ic)); out.append(mk(dirs + rest, c)); n += 1
    d['cells'] = out
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    return n

if __name__ == '__main__':
    for p in sys.argv[1:]: print(p, split(p))
