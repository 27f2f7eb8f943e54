"`nas-lt supernet study` and `fidelity`: the quick path end to end, its statistics against SciPy, resume, an image-folder target with other classes, and the failure cases."
import json
from pathlib import Path
import numpy as np
import pytest
from scipy import stats
from PIL import Image

import nas_lt.study as study_mod
from nas_lt.core import LTError, load_json
from nas_lt.cli import main
from nas_lt.study import study, fidelity, StudyConfig

TINY = dict(quick=True, n_archs=3, n_train=40, n_test=10, epochs=1, standalone_epochs=1, head_epochs=5, eval_archs=2, n_bn=2,
            batch_size=64, progress=False)
TINY_ARGV = ['--quick', '--n-archs', '3', '--n-train', '40', '--n-test', '10', '--epochs', '1', '--standalone-epochs', '1',
             '--head-epochs', '5', '--eval-archs', '2', '--n-bn', '2', '--batch-size', '64', '--no-progress']

def run(argv):
    try: return main(argv)
    except SystemExit as e: return e.code

@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    d = tmp_path_factory.mktemp('study')
    assert run(['supernet', 'study', *TINY_ARGV, '--out', str(d)]) == 0
    return d

def test_quick_writes_every_section(quick):
    r = load_json(quick/'study.json')
    assert r['preset'] == 'quick' and 'quick preset' in r['notes'][0]
    f = r['fidelity']
    for k in ('tau', 'n_archs', 'ci95', 'p_value', 'noise_ceiling'): assert k in f
    assert f['n_archs'] == 3 and len(f['standalone']) == 2
    rk = r['ranking']
    assert rk['settings'] == ['source 1×', 'target 10×']
    pair = rk['tau']['source 1× | target 10×']
    assert {'tau', 'ci95', 'p_value'} <= set(pair) and {'tau', 'ci95', 'p_value'} <= set(rk['noise_ceiling']['target 10×'])
    assert all(len(rk['scores'][s]) == 2 and len(rk['scores'][s][0]) == 3 for s in rk['settings'])   # 2 seeds x 3 architectures
    ad = r['adaptation']
    assert sorted(ad['strategies']) == ['p0', 'p1', 'p2', 'p3'] and all(len(v) == 2 for v in ad['runs'].values())
    assert {'mean', 'ci95', 'n'} <= set(ad['strategies']['p1']['balanced_accuracy'])
    assert {'p1-p0', 'p1-p3'} <= set(ad['paired']) and 'p_value' in ad['paired']['p1-p3']['balanced_accuracy']
    for stage in ('supernet', 'standalone source 1×', 'adapt p1', 'adapt p3', 'total'): assert {'cpu_s', 'wall_s'} <= set(r['cost'][stage])
    assert r['cost']['p1_over_p3'] > 0
    assert r['settings']['n_archs'] == 3 and r['seeds']['standalone'] == [0, 1] and r['seeds']['target_data'] == 1
    html = (quick/'study.html').read_text()
    assert html.count('Plotly.newPlot') >= 5
    assert load_json(quick/'config.json')['kind'] == 'StudyConfig'

def test_statistics_are_scipys(quick):
    r = load_json(quick/'study.json')
    f, rk, ad = r['fidelity'], r['ranking'], r['adaptation']
    sa = np.mean(f['standalone'], 0)
    k = stats.kendalltau(f['inherited'], sa)
    if np.isfinite(k.statistic): assert f['tau'] == pytest.approx(k.statistic) and f['p_value'] == pytest.approx(k.pvalue)
    a, b = rk['scores']['source 1×'][0], rk['scores']['source 1×'][1]
    k = stats.kendalltau(a, b)
    if np.isfinite(k.statistic): assert rk['noise_ceiling']['source 1×']['tau'] == pytest.approx(k.statistic)
    x = [run['balanced_accuracy'] for run in ad['runs']['p1']]
    m = ad['strategies']['p1']['balanced_accuracy']
    assert m['mean'] == pytest.approx(np.mean(x))
    if np.std(x) > 0: assert m['ci95'] == pytest.approx(list(stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))))
    y = [run['balanced_accuracy'] for run in ad['runs']['p3']]
    d = ad['paired']['p1-p3']['balanced_accuracy']
    assert d['diff'] == pytest.approx(np.mean(np.subtract(x, y)))
    if np.std(np.subtract(x, y)) > 0: assert d['p_value'] == pytest.approx(stats.ttest_rel(x, y).pvalue)

def test_summary_printed(quick, tmp_path, capsys):
    assert run(['supernet', 'study', *TINY_ARGV, '--out', str(quick), '--resume']) == 0
    out = capsys.readouterr().out
    assert 'fidelity: τ(inherited, stand-alone)' in out and 'noise ceiling' in out and 'P1 − P3' in out and 'study.html' in out

def test_resume_recomputes_nothing_and_reproduces(quick, monkeypatch):
    first = load_json(quick/'study.json')
    def boom(*a, **k): raise AssertionError('recomputed a finished unit')
    monkeypatch.setattr(study_mod, 'train_standalone', boom)
    monkeypatch.setattr(study_mod, 'adapt', boom)
    again = study(out=quick, resume=True, **TINY)
    assert again['ranking']['scores'] == first['ranking']['scores'] and again['adaptation']['runs'] == first['adaptation']['runs']

def test_same_seed_same_numbers(quick):
    fresh = study(**TINY)            # nothing written, everything recomputed
    first = load_json(quick/'study.json')
    assert fresh['ranking']['scores'] == first['ranking']['scores']
    assert fresh['fidelity']['inherited'] == pytest.approx(first['fidelity']['inherited'])

def test_jobs_give_the_serial_result(quick, tmp_path):
    "Stand-alone trainings in two processes (--jobs 2) give the numbers one process gives"
    par = study(out=tmp_path, jobs=2, **TINY)
    first = load_json(quick/'study.json')
    assert par['ranking']['scores'] == first['ranking']['scores'] and par['fidelity']['standalone'] == first['fidelity']['standalone']
    assert load_json(tmp_path/'study.json')['settings']['jobs'] == 2

def test_resume_with_other_settings_is_refused(quick):
    with pytest.raises(LTError, match=r'other settings \(n_archs\)'):
        study(out=quick, resume=True, **{**TINY, 'n_archs': 4})

def _folder(root:Path, classes=(('cat', 24), ('dog', 16), ('eel', 8))):
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        for ci, (c, n) in enumerate(classes):
            d = root/split/c; d.mkdir(parents=True, exist_ok=True)
            for i in range(n if split == 'train' else 6):
                a = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8); a[..., ci] += 150
                Image.fromarray(a).save(d/f'{i}.png')
    return root

def test_folder_target_with_other_classes(tmp_path):
    folder = _folder(tmp_path/'pets')
    r = study(data=str(folder), ratios=(1,), imb_ratio=1., out=tmp_path/'out', **TINY)
    assert r['target']['classes'] == 3 and r['source']['classes'] == 10
    assert r['ranking']['settings'] == ['source 1×', 'target 1×']
    assert r['adaptation']['strategies']['p0']['balanced_accuracy'] is None          # no head for the target's classes
    assert r['adaptation']['strategies']['p1']['balanced_accuracy']['n'] == 2
    assert any('p1 - p0' in n for n in r['notes'])
    assert (tmp_path/'out'/'study.html').exists()

@pytest.mark.parametrize('argv,msg', [
    (['--n-archs', '2'], 'at least 3 architectures'),
    (['--seeds', '1'], 'need at least 2 seeds'),
    (['--adapt-seeds', '1'], 'at least 2 runs'),
    (['--ratios', '0.5'], 'numbers >= 1'),
    (['--strategies', 'p1,p9'], 'p9'),
    (['--supernet', 'missing.pt'], 'supernet file not found'),
    (['--space-kw', '{"widht": 0.5}'], "did you mean 'width'"),
])
def test_bad_study_input(argv, msg, capsys):
    assert run(['supernet', 'study', *TINY_ARGV, *argv]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1 and 'Traceback' not in err

def test_fidelity_command_and_errors(quick, capsys):
    sn = str(quick/'source'/'supernet.pt')
    tiny = ['--n-train', '40', '--n-test', '10', '--size', '16', '--batch-size', '64', '--no-progress']
    assert run(['supernet', 'fidelity', sn, '--n-archs', '3', '--epochs', '1', '--seeds', '2', '--out', str(quick/'fid'), *tiny]) == 0
    out = capsys.readouterr().out
    assert 'Kendall tau(inherited, stand-alone)' in out and 'noise ceiling' in out
    js = load_json(quick/'fid'/'fidelity.json')
    assert js['n_archs'] == 3 and {'tau', 'ci95', 'p_value'} <= set(js)
    assert run(['supernet', 'fidelity', sn, '--n-archs', '3', '--epochs', '1', '--seeds', '2', '--jobs', '2', '--out', str(quick/'fid2'), *tiny]) == 0
    assert load_json(quick/'fid2'/'fidelity.json')['standalone'] == js['standalone']     # two processes, the same trainings
    capsys.readouterr()
    assert run(['supernet', 'fidelity', sn, '--n-archs', '2', *tiny]) == 2
    assert 'at least 3 architectures' in capsys.readouterr().err
    with pytest.raises(LTError, match='head has 10 classes'):
        fidelity(sn, 'synthetic100', n_train=5, n_test=2, size=16, n_archs=3, epochs=1, progress=False)
