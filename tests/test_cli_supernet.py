"`nas-lt supernet train|adapt|search|rank` end to end through `nas_lt.cli.main`, and its errors."
import json, os
from pathlib import Path
import pytest
from nas_lt.core import LTError, load_json
from nas_lt.cli import main
from nas_lt.cli_supernet import demo_part

TINY = ['--n-train', '40', '--n-test', '10', '--batch-size', '64', '--no-progress']
SPACE = '{"width": 0.25, "depths": [1, 1, 1, 1], "strides": [2, 2, 2, 1], "last": 32}'

def run(argv, capsys=None):
    "Run as the `nas-lt` program does: bad input -> one line on stderr, status 2"
    try: return main(argv)
    except SystemExit as e: return e.code

@pytest.fixture(scope='module')
def pipeline(tmp_path_factory):
    d = tmp_path_factory.mktemp('cli')
    assert run(['supernet', 'train', '--data', 'synthetic', '--imb-ratio', '1', '--epochs', '1', '--out', str(d/'src'), '--space-kw', SPACE, *TINY]) == 0
    assert run(['supernet', 'adapt', str(d/'src'/'supernet.pt'), '--data', 'synthetic', '--imb-ratio', '10', '--strategy', 'p1',
                '--epochs', '2', '--eval-archs', '2', '--out', str(d/'p1'), *TINY]) == 0
    return d

def test_train_and_adapt_write_files(pipeline):
    assert (pipeline/'src'/'supernet.pt').exists() and load_json(pipeline/'src'/'metrics.json')['settings']['epochs'] == 1
    m = load_json(pipeline/'p1'/'metrics.json')
    assert m['strategy'] == 'p1' and m['imb_ratio'] == 10 and len(m['per_arch']) == 2

def test_search_writes_search_json(pipeline, capsys):
    assert run(['supernet', 'search', str(pipeline/'p1'/'supernet.pt'), '--data', 'synthetic', '--imb-ratio', '10', '--population', '4',
                '--generations', '2', '--n-cross', '2', '--n-mut', '2', '--topk', '2', '--out', str(pipeline/'s'), *TINY]) == 0
    js = load_json(pipeline/'s'/'search.json')
    for k in ('arch', 'space', 'balanced_accuracy', 'many_shot', 'medium_shot', 'few_shot', 'mmacs', 'mparams', 'history'): assert k in js
    assert len(js['history']) == 2 and 'best architecture' in capsys.readouterr().out
    from nas_lt.supernet import build_subnet_from_json
    assert list(build_subnet_from_json(pipeline/'s'/'search.json', 10).arch) == js['arch']

def test_search_resume(pipeline):
    args = ['supernet', 'search', str(pipeline/'p1'/'supernet.pt'), '--data', 'synthetic', '--imb-ratio', '10', '--population', '3',
            '--n-cross', '1', '--n-mut', '1', '--topk', '2', *TINY]
    assert run([*args, '--generations', '1', '--out', str(pipeline/'r')]) == 0
    assert run([*args, '--generations', '2', '--out', str(pipeline/'r'), '--resume']) == 0
    assert run([*args, '--generations', '2', '--out', str(pipeline/'r2')]) == 0
    assert load_json(pipeline/'r'/'search.json')['history'] == load_json(pipeline/'r2'/'search.json')['history']

def test_rank(pipeline):
    assert run(['supernet', 'rank', str(pipeline/'src'/'supernet.pt'), '--data', 'synthetic', '--source-ratios', '1,10',
                '--target-ratios', '1,10', '--k', '3', '--mode', 'both', '--head-epochs', '2', '--train-epochs', '1',
                '--out', str(pipeline/'rank'), *TINY]) == 0
    r = load_json(pipeline/'rank'/'ranking.json')
    assert set(r['tau']) == {'inherited', 'standalone'} and len(r['tau']['standalone']) == 2 and len(r['scores']['standalone']['target 10×']) == 3
    assert (pipeline/'rank'/'ranking.html').exists()

@pytest.mark.parametrize('argv,msg', [
    (['supernet', 'adapt', '{sp}', '--strategy', 'p9'], "unknown adaptation strategy 'p9'"),
    (['supernet', 'adapt', '{sp}', '--imb-ratio', '10', '--space', 'nb201'], "holds a 'mbv2' supernet, not 'nb201'"),
    (['supernet', 'adapt', '{sp}', '--imb-ratio', '100'], 'imbalance ratio 100 leaves the smallest classes with no images (the largest has 40)'),
    (['supernet', 'adapt', '{sp}', '--imb-ratio', 'inf'], 'finite'),
    (['supernet', 'search', '{sp}', '--imb-ratio', '10', '--size', '16'], 'images are 16x16 but the supernet was built for 32x32'),
    (['supernet', 'search', '{sp}', '--imb-ratio', '10', '--max-mmacs', '0.0001'], 'no architecture meets the limit of 0.0001 MMACs: the smallest in this space has'),
    (['supernet', 'search', '{sp}', '--imb-ratio', '10', '--method', 'grid'], "unknown --method 'grid'; choose one of: evolution, random"),
    (['supernet', 'search', '{sp}', '--imb-ratio', '10', '--population', '8', '--n-cross', '5', '--n-mut', '5'], 'must not exceed --population (8)'),
    (['supernet', 'rank', '{sp}', '--archs-json', '{bad}'], "'k9e9' is not a choice"),
    (['supernet', 'adapt', '{v99}', '--imb-ratio', '10'], 'format version 99'),
    (['supernet', 'adapt', '{junk}', '--imb-ratio', '10'], 'not a nas_lt checkpoint'),
    (['supernet', 'adapt', '{none}', '--imb-ratio', '10'], 'supernet file not found'),
    (['supernet', 'train', '--space', 'darts', '--epochs', '1'], "unknown space 'darts'"),
    (['supernet', 'train', '--space-kw', '{bad json', '--epochs', '1'], '--space-kw is not valid JSON'),
    (['supernet', 'train', '--space-kw', '{"widht": 0.5}', '--epochs', '1'], "the 'mbv2' space has no setting 'widht' (did you mean 'width'?)"),
    (['supernet', 'train', '--n-train', '0', '--epochs', '1'], '--n-train must be >= 1, got 0'),
    (['supernet', 'train', '--device', 'gpu0', '--epochs', '1'], "unknown device 'gpu0'"),
    (['supernet', 'train', '--out', '{sp}', '--epochs', '1'], 'is a file; give a folder'),
    (['supernet', 'adapt', '{sp}', '--imb-ratio', '10', '--epochs', '0'], '--epochs must be >= 1, got 0'),
    (['supernet', 'adapt', '{sp}', '--imb-ratio', '10', '--lr', '-0.1'], '--lr must be > 0'),
    (['supernet', 'rank', '{sp}', '--source-ratios', '1,a'], "imbalance ratios must be numbers >= 1, got 'a'"),
])
def test_bad_input(pipeline, capsys, argv, msg):
    import torch
    sp = pipeline/'p1'/'supernet.pt'
    (pipeline/'bad.json').write_text(json.dumps([['k3e3', 'k9e9', 'k3e3', 'k3e3'], ['k3e3'] * 4, ['k5e3'] + ['k3e3'] * 3]))
    st = torch.load(sp, weights_only=True); st['version'] = 99; torch.save(st, pipeline/'v99.pt')
    (pipeline/'junk.pt').write_text('junk')
    subs = dict(sp=sp, bad=pipeline/'bad.json', v99=pipeline/'v99.pt', junk=pipeline/'junk.pt', none=pipeline/'none.pt')
    argv = [str(subs[a[1:-1]]) if a[1:-1] in subs else a for a in argv]
    assert run([*argv[:2], *TINY, *argv[2:]]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count('\n') == 1 and 'Traceback' not in err, err

@pytest.mark.skipif(os.environ.get('NAS_LT_SLOW') != '1', reason='slow: set NAS_LT_SLOW=1')
def test_demo_part_quick(tmp_path):
    r = demo_part(tmp_path, quick=True)
    assert set(r) >= {'name', 'markdown', 'figures', 'results'} and 'ResNet-32' in r['markdown']
    json.dumps(r['results'])
