"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does where quarto is installed).

Markdown cells are copied, code cells become ```python blocks followed by their text output, hidden
cells (`#| hide`) are dropped and nbdev directives removed. `--check` exits 1 when README.md differs.
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
_dir = re.compile(r'^\s*#\s*\|')

def _notebook(page:str)->str:
    "The notebook behind a docs page name ('data.html' -> 'nbs/00_data.ipynb'), as a path relative to the repository"
    stem, parent = Path(page).stem, Path(page).parent
    for nb in sorted((root/'nbs'/parent).glob('*.ipynb')):
        if re.sub(r'^\d+[a-z]?_', '', nb.stem) == stem: return str(nb.relative_to(root))
    raise SystemExit(f'README links to {page}, but no notebook in nbs/{parent} makes that page')

def render(nb_path=root/'nbs'/'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            out.append(src.strip()); continue
        if c['cell_type'] != 'code': continue
        lines = src.splitlines()
        dirs = [l for l in lines if _dir.match(l)]
        if any(re.search(r'\b(hide|exporti?)\b', l) for l in dirs) and not any('echo: true' in l for l in dirs): continue
        code = '\n'.join(l for l in lines if not _dir.match(l)).strip()
        if code: out.append(f'```python\n{code}\n```')
        text = []
        for o in c.get('outputs', []):
            if o['output_type'] == 'stream' and o.get('name') == 'stdout': text.append(''.join(o['text']))
            elif o['output_type'] in ('execute_result', 'display_data') and 'text/html' not in o['data']:
                t = o['data'].get('text/plain')
                if t: text.append(''.join(t))
        if text: out.append('```\n' + ''.join(text).rstrip('\n') + '\n```')
    body = '\n\n'.join(out) + '\n'
    # relative page links point at the notebooks that make the pages (they work on GitHub and in a clone)
    body = re.sub(r'\]\(((?:tutorials/)?[\w-]+\.html)\)', lambda m: f']({_notebook(m.group(1))})', body)
    # nbdev's title cell: "# Title\n> summary" becomes a heading and a blockquote, as nbdev_readme writes them
    return '<!-- generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file -->\n\n' + body

if __name__ == '__main__':
    txt = render()
    readme = root/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != txt:
            print('README.md is out of date: run `python .ci/make_readme.py` after editing nbs/index.ipynb'); sys.exit(1)
    else:
        readme.write_text(txt)
