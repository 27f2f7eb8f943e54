"`nas-lt darts study`: the quick path end to end, resume, an image-folder dataset, and the failure cases."
import contextlib, io, json
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

from nas_lt.core import load_json
from nas_lt.cli import main
from nas_lt.darts_study import darts_study, STUDY_KEYS

TINY_ARGV = ['--quick', '--arms', 'plain,bbn_hetero', '--n-train', '20', '--n-test', '10', '--imb-ratio', '10', '--epochs', '2',
             '--channels', '4', '--layers', '3', '--train-channels', '4', '--train-layers', '3', '--train-epochs', '1',
             '--train-seeds', '1', '--hessian-iters', '2', '--no-progress']

def run(argv):
    try: return main(argv)
    except SystemExit as e: return e.code

@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    d = tmp_path_factory.mktemp('darts_study')
    with contextlib.redirect_stdout(io.StringIO()) as o: assert run(['darts', 'study', *TINY_ARGV, '--out', str(d)]) == 0
    (d/'stdout.txt').write_text(o.getvalue())
    return d

def test_quick_writes_every_section(quick):
    r = load_json(quick/'study.json')
    assert r['preset'] == 'quick' and any('quick preset' in n for n in r['notes'])
    assert r['baseline'] == 'plain' and set(r['accuracy']) == {'plain', 'bbn_hetero'}
    for k in STUDY_KEYS[:1]:
        a = r['accuracy']['bbn_hetero'][k]
        assert a['n'] == 2 and a['ci95'][0] <= a['mean'] <= a['ci95'][1]
    d = r['paired']['bbn_hetero']['balanced_accuracy']
    assert d['n'] == 2 and 'p_value' in d and 'plain' not in r['paired']
    for arm in ('plain', 'bbn_hetero'):
        assert len(r['convergence'][arm]['entropy_ratio_final']) == 2       # one per search seed
        assert r['cost'][arm]['search_cpu_s'] > 0 and r['cost'][arm]['train_cpu_s'] > 0
    for s in (0, 1):                                                      # every search keeps its own run folder
        assert (quick/'search'/'bbn_hetero'/f'seed{s}'/'genotype.json').exists()
    assert 'Paired' in (quick/'study.html').read_text() or 'paired' in (quick/'study.html').read_text()

def test_cli_prints_the_tables(quick):
    out = (quick/'stdout.txt').read_text()
    for title in ('Accuracy of the trained genotypes', 'Paired differences to plain', 'Convergence', 'Cost', 'wrote'):
        assert title in out, out

def test_resume_reuses_finished_units(quick):
    before = load_json(quick/'study.json')
    r = darts_study(**{**_kw(), 'out': quick, 'resume': True})
    assert r['accuracy'] == before['accuracy'] and r['paired'] == before['paired']
    assert r['cost']['this_process']['cpu_s'] < 0.5 * before['cost']['total']['cpu_s']     # nothing searched or trained again

def test_jobs_give_the_serial_result(quick, tmp_path):
    "Two processes (--jobs 2) compute the same units as one: every search and training is seeded by itself"
    with contextlib.redirect_stdout(io.StringIO()): assert run(['darts', 'study', *TINY_ARGV, '--jobs', '2', '--out', str(tmp_path)]) == 0
    a, b = load_json(quick/'study.json'), load_json(tmp_path/'study.json')
    assert b['scores'] == a['scores'] and b['paired'] == a['paired']
    assert [s['genotype'] for s in b['searches']['bbn_hetero']] == [s['genotype'] for s in a['searches']['bbn_hetero']]
    assert b['settings']['jobs'] == 2 and (tmp_path/'search'/'plain'/'seed1'/'genotype.json').exists()
    # jobs is not a setting of the result: a serial resume of the parallel run reuses every unit
    r = darts_study(**{**_kw(), 'out': tmp_path, 'resume': True})
    assert r['scores'] == a['scores'] and r['cost']['this_process']['cpu_s'] < 0.5 * b['cost']['total']['cpu_s']

def _kw():
    return dict(quick=True, arms=('plain', 'bbn_hetero'), n_train=20, n_test=10, imb_ratio=10., epochs=2, channels=4, layers=3,
                train_channels=4, train_layers=3, train_epochs=1, train_seeds=1, hessian_iters=2, progress=False)

def _folder(root:Path, classes=(('cat', 24), ('dog', 12), ('eel', 4))):
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        for ci, (c, n) in enumerate(classes):
            d = root/split/c; d.mkdir(parents=True, exist_ok=True)
            for i in range(n if split == 'train' else 6):
                a = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8); a[..., ci] += 150
                Image.fromarray(a).save(d/f'{i}.png')
    return root

def test_image_folder(tmp_path):
    folder = _folder(tmp_path/'pets')
    r = darts_study(**{**_kw(), 'data': str(folder), 'imb_ratio': 1., 'out': tmp_path/'out'})
    assert r['data']['classes'] == 3 and r['data']['counts'] == [20, 12, 4]   # --n-train caps the largest class
    assert r['accuracy']['plain']['balanced_accuracy']['n'] == 2
    assert (tmp_path/'out'/'study.html').exists()

@pytest.mark.parametrize('argv,msg', [
    (['--arms', 'plain,bogus'], "unknown study arm 'bogus'"),
    (['--arms', 'plain,plain'], 'lists an arm twice'),
    (['--arms', 'reweight,bbn'], '--baseline plain is not among --arms'),
    (['--seeds', '1'], 'at least 2 searches per arm'),
    (['--variant', 'pc_darts', '--pc-k', '0'], '--pc-k'),
    (['--data', 'no/such/folder'], 'no/such/folder'),
])
def test_bad_study_input(argv, msg, capsys):
    assert run(['darts', 'study', *TINY_ARGV, *argv]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
