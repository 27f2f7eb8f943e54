"Dev helper: write a notebook from (type, source) cells, keeping the ids (and outputs) of cells whose source is unchanged."
import json, uuid
from pathlib import Path

def build(path, cells):
    path = Path(path)
    old = json.loads(path.read_text()) if path.exists() else {'cells': []}
    by_src = {(c['cell_type'], ''.join(c['source'])): c for c in old['cells']}
    out = []
    for i, (kind, src) in enumerate(cells):
        src = src.strip('\n')
        prev = by_src.get((kind, src))
        cid = prev['id'] if prev else (old['cells'][i]['id'] if i < len(old['cells']) and old['cells'][i]['cell_type'] == kind
                                       and old['cells'][i]['id'] not in [c['id'] for c in out] else uuid.uuid4().hex[:8])
        c = dict(cell_type=kind, id=cid, metadata={}, source=src.splitlines(True))
        if kind == 'code': c.update(execution_count=None, outputs=prev['outputs'] if prev else [])
        out.append(c)
    nb = dict(cells=out, metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
              nbformat=4, nbformat_minor=5)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
