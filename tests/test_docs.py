"""The docs pages and the reports render with their figures, offline.

Quarto is not installable everywhere, so this test checks the docs the way quarto would see them:
nbdev processes the notebooks (`proc_nbs`, the step behind `nbdev_proc_nbs`), nbconvert turns each
processed notebook into an HTML page, and the header that `_quarto.yml` puts into every page (the installed
plotly.js, `nbs/_plotly.html`) is put into each page's <head>. Headless Chromium then loads the page with the
network cut off, runs its scripts and dumps the DOM. Every plotly figure on a page must have been drawn (an SVG
inside its div), and no page or report may load anything from the network.
"""
import os, re, shutil, subprocess, sys, tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ('chromium', 'chromium-browser', 'google-chrome')
OFFLINE = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost', '--proxy-server=http://127.0.0.1:9', '--proxy-bypass-list=<-loopback>']

def _browser():
    for b in BROWSERS:
        if shutil.which(b): return shutil.which(b)
    if os.environ.get('NAS_LT_REQUIRE_BROWSER') == '1': pytest.fail('no Chromium found (apt-get install chromium)')
    pytest.skip('no Chromium found (apt-get install chromium)')

def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f'{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}'
    return r

def _header()->str:
    "The header that _quarto.yml includes in every page"
    import yaml
    q = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    files = [i['file'] for i in q['format']['html']['include-in-header'] if 'file' in i]
    assert files == ['_plotly.html'], files
    return (ROOT/'nbs'/files[0]).read_text()

@pytest.fixture(scope='module')
def pages(tmp_path_factory):
    "Processed notebooks converted to HTML pages, with the docs' header in each"
    out = tmp_path_factory.mktemp('site')
    _run([sys.executable, '-c', "from nbdev.serve import proc_nbs; proc_nbs(n_workers=0, force=True)"], cwd=ROOT)
    src, header = ROOT/'_proc', _header()
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
        dest.write_text(dest.read_text().replace('</head>', header + '</head>', 1))
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
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', *OFFLINE,
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             f'--user-data-dir={prof}', '--allow-file-access-from-files', '--virtual-time-budget=15000']
    try:
        if shot: subprocess.run([browser, *flags, f'--screenshot={shot}', '--window-size=1200,2400', page.as_uri()], capture_output=True, timeout=120)
        return subprocess.run([browser, *flags, '--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    finally: shutil.rmtree(prof, ignore_errors=True)

_REMOTE = re.compile(r'<script[^>]+src=["\']https?://', re.I)

def test_no_output_loads_from_the_network():
    "No notebook output and no docs header loads a script from the network (nbconvert's own page template is not the docs')"
    import json
    assert not _REMOTE.search(_header())
    for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            for o in c.get('outputs', []):
                h = o.get('data', {}).get('text/html', '')
                h = ''.join(h) if isinstance(h, list) else h
                assert not _REMOTE.search(h) and 'cdn.plot.ly' not in h, f'{nb.name}: an output loads a script from the network'

def test_report_draws_offline(tmp_path):
    "An HTML report (nas-lt's results) embeds plotly.js and draws with the network off"
    import plotly.graph_objects as go
    from nas_lt.core import write_report
    r = write_report(tmp_path/'r.html', 'Report', ['a figure:', go.Figure(go.Bar(y=[3, 1, 2])), go.Figure(go.Scatter(y=[1, 2]))])
    assert not _REMOTE.search(r.read_text())
    dom = _render(_browser(), r)
    assert len(re.findall(r'<svg[^>]*class="main-svg"', dom)) >= 2

def test_sidebar_lists_every_notebook_in_sections():
    import yaml
    sb = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    listed = {e for e in sb if isinstance(e, str)} | {x for s in sb if isinstance(s, dict) for x in s['contents']}
    nbs = {str(p.relative_to(ROOT/'nbs')) for p in (ROOT/'nbs').rglob('*.ipynb') if not p.name.startswith('.') and '.ipynb_checkpoints' not in p.parts}
    assert listed == nbs, (sorted(nbs - listed), sorted(listed - nbs))
    assert [s['section'] for s in sb if isinstance(s, dict)] == ['Core', 'IMB-NAS', 'DARTS+BBN', 'Tools', 'Tutorials']

def test_readme_links_point_at_files_in_the_repository():
    for link in re.findall(r'\]\(([^)#]+)', (ROOT/'README.md').read_text()):
        if link.startswith('http'): continue
        assert (ROOT/link).exists(), link

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
        drawn = len(re.findall(r'<svg[^>]*class="main-svg"', dom))   # drawn figures (not plotly.js's own source, which is in the page)
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
