"""The docs pages render with their figures.

Quarto is not installable everywhere, so this test checks the docs the way quarto would see them:
nbdev processes the notebooks (`proc_nbs`, the step behind `nbdev_proc_nbs`), nbconvert turns each
processed notebook into an HTML page, and headless Chromium loads the page, runs its scripts and
dumps the DOM. Every plotly figure on a page must have been drawn (an SVG inside its div).
The pages load plotly.js from its CDN; offline, the test points them at the copy inside the plotly package.
"""
import os, re, shutil, subprocess, sys, tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ('chromium', 'chromium-browser', 'google-chrome')

def _browser():
    for b in BROWSERS:
        if shutil.which(b): return shutil.which(b)
    if os.environ.get('NAS_LT_REQUIRE_BROWSER') == '1': pytest.fail('no Chromium found (apt-get install chromium)')
    pytest.skip('no Chromium found (apt-get install chromium)')

def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f'{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}'
    return r

@pytest.fixture(scope='module')
def pages(tmp_path_factory):
    "Processed notebooks converted to HTML pages, with plotly.js served from the local package"
    import plotly
    out = tmp_path_factory.mktemp('site')
    proc = out/'_proc'
    code = ("import sys; from nbdev.serve import proc_nbs; "
            f"print(proc_nbs(n_workers=0, force=True))")
    r = _run([sys.executable, '-c', code], cwd=ROOT)
    src = ROOT/'_proc'
    local_js = (Path(plotly.__file__).parent/'package_data'/'plotly.min.js').as_uri()
    nbs = sorted(p for p in src.rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
    assert nbs, 'proc_nbs produced no notebooks'
    htmls = {}
    for nb in nbs:
        rel = nb.relative_to(src).with_suffix('.html')
        dest = out/rel; dest.parent.mkdir(parents=True, exist_ok=True)
        _quartoish(nb)
        _run([sys.executable, '-m', 'nbconvert', '--to', 'html', '--output', dest.stem, '--output-dir', str(dest.parent),
              '--TagRemovePreprocessor.enabled=True', '--TagRemovePreprocessor.remove_input_tags=remove_input',
              '--TagRemovePreprocessor.remove_cell_tags=remove_cell', str(nb)])
        html = dest.read_text()
        html = re.sub(r'https://cdn\.plot\.ly/plotly-[0-9.]+\.min\.js', local_js, html)
        dest.write_text(html)
        htmls[str(rel)] = dest
    return htmls

def _quartoish(nb:Path):
    "Mark cells as quarto would show them: front matter dropped, `echo: false` inputs hidden"
    import json
    d = json.loads(nb.read_text())
    for c in d['cells']:
        src = ''.join(c['source'])
        tags = c.setdefault('metadata', {}).setdefault('tags', [])
        if c['cell_type'] == 'raw' and src.startswith('---'): tags.append('remove_cell')
        elif c['cell_type'] == 'code' and re.search(r'^#\|\s*echo:\s*false', src, re.M): tags.append('remove_input')
    nb.write_text(json.dumps(d))

def _render(browser, page:Path, shot:Path|None=None):
    prof = tempfile.mkdtemp()
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             f'--user-data-dir={prof}', '--allow-file-access-from-files', '--virtual-time-budget=15000']
    try:
        if shot: subprocess.run([browser, *flags, f'--screenshot={shot}', '--window-size=1200,2400', page.as_uri()], capture_output=True, timeout=120)
        return subprocess.run([browser, *flags, '--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    finally: shutil.rmtree(prof, ignore_errors=True)

def test_every_notebook_has_a_page(pages):
    names = {Path(k).stem for k in pages}
    for nb in (ROOT/'nbs').rglob('*.ipynb'):
        if nb.name.startswith('.'): continue
        stem = re.sub(r'^\d+[a-z]?_', '', nb.stem)
        assert nb.stem in names or stem in names, f'no page for {nb.name}: {sorted(names)}'

def test_pages_draw_their_figures(pages):
    browser = _browser()
    total = 0
    for rel, page in pages.items():
        html = page.read_text()
        n_figs = len(set(re.findall(r'id="(naslt-[0-9a-f]+)"', html)))
        if not n_figs: continue
        dom = _render(browser, page)
        drawn = len(re.findall(r'class="main-svg"', dom))
        assert drawn >= n_figs, f'{rel}: {n_figs} figures on the page, {drawn} drawn'
        total += n_figs
    assert total >= 3, f'only {total} figures across the docs'

def test_key_pages_have_figures(pages):
    "The chapters whose point is a picture show one"
    for name in ['data', 'widgets', 'schedules', 'darts', 'supernet']:
        hits = [p for k, p in pages.items() if Path(k).stem in (name,) or Path(k).stem.endswith('_' + name)]
        assert hits, f'no page named {name}: {sorted(pages)}'
        assert 'naslt-' in hits[0].read_text(), f'{name} page has no figure'

def _mixed_import_cells(nb:Path):
    "Non-exported code cells that mix imports with other code (nbdev executes those while building the docs)"
    import ast, json
    bad = []
    for c in json.loads(nb.read_text())['cells']:
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        dirs = [l.strip()[2:].strip().lstrip('|').strip() for l in src.splitlines() if re.match(r'^\s*#\s*\|', l)]
        if any(d.split()[0].rstrip(':') in {'export', 'exports', 'exporti', 'exec_doc'} for d in dirs if d.split()): continue
        if any(re.search(r'eval:\s*false', d) for d in dirs): continue
        try: body = ast.parse(src).body
        except SyntaxError: continue
        imps = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
        if imps and len(imps) < len(body): bad.append(src[:120])
    return bad

def test_no_cell_mixes_imports_with_code():
    "nbdev runs every cell holding an import when it builds the docs: keep imports in cells of their own"
    found = {str(nb.relative_to(ROOT)): b for nb in sorted((ROOT/'nbs').rglob('*.ipynb'))
             if not nb.name.startswith('.') and (b := _mixed_import_cells(nb))}
    assert not found, found
